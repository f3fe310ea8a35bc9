//! The claims table of `lessons/README.md`: which lesson steps show each claim of the seed
//! articles (C1, C2, …) happen. CI checks that every claim names real, checked steps, and
//! `podlab lessons stats` lists each lesson's claims.

use std::collections::BTreeMap;
use std::path::Path;

/// A claim's id and the (lesson id, step id) pairs that show it, in table order.
pub type ClaimsTable = BTreeMap<String, Vec<(String, String)>>;

/// The table's rows: `| C1 | 03-sharing | create, shared-volume |` (ids may be in backticks).
/// Rows whose lesson cell is not a lesson id (the header, the separator) are skipped.
pub fn parse_claims_table(markdown: &str) -> ClaimsTable {
    let mut claims = ClaimsTable::new();
    for line in markdown.lines() {
        let cells: Vec<&str> = line
            .split('|')
            .map(|c| c.trim().trim_matches('`'))
            .collect();
        if cells.len() < 4 || !names_a_lesson(cells[2]) {
            continue;
        }
        let steps = cells[3].split(',').map(|s| s.trim().trim_matches('`'));
        for step in steps.filter(|s| !s.is_empty()) {
            claims
                .entry(cells[1].to_string())
                .or_default()
                .push((cells[2].to_string(), step.to_string()));
        }
    }
    claims
}

/// The claims table of the lessons directory `dir` (its README.md); empty if it has none.
pub fn claims_of_dir(dir: &Path) -> ClaimsTable {
    std::fs::read_to_string(dir.join("README.md"))
        .map(|text| parse_claims_table(&text))
        .unwrap_or_default()
}

/// The claims (`C1`, `C2`, …) that lesson `id` shows, sorted by number (C2 before C10); rows
/// of topics beyond the seeds, named in words, are not claims.
pub fn claims_of_lesson(table: &ClaimsTable, id: &str) -> Vec<String> {
    let mut claims: Vec<String> = table
        .iter()
        .filter(|(claim, _)| is_claim_id(claim))
        .filter(|(_, steps)| steps.iter().any(|(lesson, _)| lesson == id))
        .map(|(claim, _)| claim.clone())
        .collect();
    claims.sort_by_key(|c| {
        (
            c.trim_start_matches('C').parse::<u32>().unwrap_or(u32::MAX),
            c.clone(),
        )
    });
    claims
}

/// `C12`: a C and a number.
fn is_claim_id(cell: &str) -> bool {
    cell.strip_prefix('C')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// `01-process`: two digits, a dash, a name.
fn names_a_lesson(cell: &str) -> bool {
    let (number, rest) = cell.split_once('-').unwrap_or_default();
    number.len() == 2 && number.parse::<u32>().is_ok() && !rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "| claim | lesson | steps |\n|---|---|---|\n\
                         | C10 | `02-pause` | `kill` |\n\
                         | C1 | 03-sharing | create, shared-volume |\n\
                         | C2 | 03-sharing | net |\n\
                         | static pods: a file becomes a pod | 13-static-pods | put |\n";

    #[test]
    fn rows_name_lessons_and_steps_and_the_header_is_skipped() {
        let table = parse_claims_table(TABLE);
        assert_eq!(table.len(), 4);
        assert_eq!(
            table["C1"],
            vec![
                ("03-sharing".to_string(), "create".to_string()),
                ("03-sharing".to_string(), "shared-volume".to_string())
            ]
        );
        assert_eq!(table["C10"], vec![("02-pause".into(), "kill".into())]);
    }

    #[test]
    fn a_lessons_claims_are_sorted_by_number() {
        let table = parse_claims_table(TABLE);
        assert_eq!(claims_of_lesson(&table, "03-sharing"), ["C1", "C2"]);
        assert_eq!(claims_of_lesson(&table, "02-pause"), ["C10"]);
        assert!(claims_of_lesson(&table, "99-none").is_empty());
        assert!(claims_of_lesson(&table, "13-static-pods").is_empty());
    }
}
