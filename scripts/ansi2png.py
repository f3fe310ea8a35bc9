#!/usr/bin/python3
"""Render a terminal screen captured with `tmux capture-pane -e -p` (text with SGR colour
codes) to a PNG, with a CJK-capable monospace font so that Chinese renders two cells wide.

Usage: ansi2png.py CAPTURE.txt OUT.png COLUMNS ROWS
"""
import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

FONT_REGULAR = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
# Narrow characters (Latin, arrows, symbols) from DejaVu, which has them all.
NARROW_REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
NARROW_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
FAMILY = "Noto Sans Mono CJK SC"
SIZE = 16

BASE16 = [
    (0x1E, 0x1E, 0x1E), (0xCD, 0x31, 0x31), (0x0D, 0xBC, 0x79), (0xE5, 0xE5, 0x10),
    (0x24, 0x72, 0xC8), (0xBC, 0x3F, 0xBC), (0x11, 0xA8, 0xCD), (0xE5, 0xE5, 0xE5),
    (0x76, 0x76, 0x76), (0xF1, 0x4C, 0x4C), (0x23, 0xD1, 0x8B), (0xF5, 0xF5, 0x43),
    (0x3B, 0x8E, 0xEA), (0xD6, 0x70, 0xD6), (0x29, 0xB8, 0xDB), (0xFF, 0xFF, 0xFF),
]
DEFAULT_FG = (0xD4, 0xD4, 0xD4)
DEFAULT_BG = (0x1E, 0x1E, 0x1E)


def color256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


def cell_width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(text, cols, rows):
    """A grid of (char, fg, bg, bold, dim, underline) cells; None marks a wide char's tail."""
    grid = []
    style = {"fg": None, "bg": None, "bold": False, "dim": False, "ul": False, "rev": False}
    for line in text.split("\n")[:rows]:
        row = []
        for token in re.split(r"(\x1b\[[0-9;:]*m)", line):
            if token.startswith("\x1b["):
                sgr(token[2:-1], style)
                continue
            for ch in token:
                w = cell_width(ch)
                if w == 0:
                    continue
                fg = style["fg"] or DEFAULT_FG
                bg = style["bg"] or DEFAULT_BG
                if style["rev"]:
                    fg, bg = bg, fg
                row.append((ch, fg, bg, style["bold"], style["dim"], style["ul"]))
                if w == 2:
                    row.append(None)
        row = row[:cols]
        row += [(" ", DEFAULT_FG, DEFAULT_BG, False, False, False)] * (cols - len(row))
        grid.append(row)
    while len(grid) < rows:
        grid.append([(" ", DEFAULT_FG, DEFAULT_BG, False, False, False)] * cols)
    return grid


def sgr(params, style):
    codes = [int(p) if p else 0 for p in re.split("[;:]", params)] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            style.update(fg=None, bg=None, bold=False, dim=False, ul=False, rev=False)
        elif c == 1:
            style["bold"] = True
        elif c == 2:
            style["dim"] = True
        elif c == 4:
            style["ul"] = True
        elif c == 7:
            style["rev"] = True
        elif c == 22:
            style["bold"] = style["dim"] = False
        elif c == 24:
            style["ul"] = False
        elif c == 27:
            style["rev"] = False
        elif 30 <= c <= 37:
            style["fg"] = BASE16[c - 30]
        elif 90 <= c <= 97:
            style["fg"] = BASE16[c - 90 + 8]
        elif 40 <= c <= 47:
            style["bg"] = BASE16[c - 40]
        elif 100 <= c <= 107:
            style["bg"] = BASE16[c - 100 + 8]
        elif c == 39:
            style["fg"] = None
        elif c == 49:
            style["bg"] = None
        elif c in (38, 48) and i + 1 < len(codes):
            key = "fg" if c == 38 else "bg"
            if codes[i + 1] == 5 and i + 2 < len(codes):
                style[key] = color256(codes[i + 2])
                i += 2
            elif codes[i + 1] == 2 and i + 4 < len(codes):
                style[key] = tuple(codes[i + 2:i + 5])
                i += 4
        i += 1


def mono_font(path):
    """The collection's monospace Simplified Chinese face."""
    for index in range(20):
        font = ImageFont.truetype(path, SIZE, index=index)
        if font.getname()[0] == FAMILY:
            return font
    raise SystemExit(f"{FAMILY} is not in {path} (apt-get install fonts-noto-cjk)")


def render(grid, cols, rows, out):
    wide_fonts = (mono_font(FONT_REGULAR), mono_font(FONT_BOLD))
    narrow_fonts = (
        ImageFont.truetype(NARROW_REGULAR, SIZE - 1),
        ImageFont.truetype(NARROW_BOLD, SIZE - 1),
    )
    cw = round(narrow_fonts[0].getlength("M"))
    ch = round(SIZE * 1.3)
    pad = 8
    img = Image.new("RGB", (cols * cw + 2 * pad, rows * ch + 2 * pad), DEFAULT_BG)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(grid):
        for x, cell in enumerate(row):
            if cell is None:
                continue
            char, fg, bg, is_bold, dim, ul = cell
            wide = x + 1 < len(row) and row[x + 1] is None
            w = cw * (2 if wide else 1)
            left, top = pad + x * cw, pad + y * ch
            if bg != DEFAULT_BG:
                draw.rectangle([left, top, left + w - 1, top + ch - 1], fill=bg)
            if dim:
                fg = tuple((a + b) // 2 for a, b in zip(fg, bg))
            if char.strip():
                box_drawing = "\u2500" <= char <= "\u257f"
                if box_drawing:
                    draw_box(draw, char, left, top, cw, ch, fg)
                else:
                    regular, bold = wide_fonts if wide else narrow_fonts
                    font = bold if is_bold else regular
                    # Centre the glyph in its cells.
                    dx = (w - font.getlength(char)) / 2
                    # One baseline for both fonts.
                    baseline = top + round(ch * 0.78)
                    draw.text((left + dx, baseline), char, font=font, fill=fg, anchor="ls")
            if ul:
                draw.line([left, top + ch - 2, left + w - 1, top + ch - 2], fill=fg)
    img = img.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    img.save(out, optimize=True)


def draw_box(draw, char, left, top, cw, ch, fg):
    """Box-drawing lines across the whole cell, so that borders join (fonts leave gaps)."""
    mx, my = left + cw // 2, top + ch // 2
    right, bottom = left + cw - 1, top + ch - 1
    arms = {
        "─": "lr", "│": "tb", "┌": "rb", "┐": "lb", "└": "rt", "┘": "lt",
        "├": "tbr", "┤": "tbl", "┬": "lrb", "┴": "lrt", "┼": "lrtb",
    }.get(char)
    if arms is None:
        return
    if "l" in arms:
        draw.line([left, my, mx, my], fill=fg)
    if "r" in arms:
        draw.line([mx, my, right, my], fill=fg)
    if "t" in arms:
        draw.line([mx, top, mx, my], fill=fg)
    if "b" in arms:
        draw.line([mx, my, mx, bottom], fill=fg)


def main():
    src, out, cols, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(src, encoding="utf-8") as f:
        text = f.read()
    render(parse(text, cols, rows), cols, rows, out)


if __name__ == "__main__":
    main()
