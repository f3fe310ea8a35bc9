fn main() {
    println!("podlab");
}
