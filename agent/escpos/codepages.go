package escpos

import "golang.org/x/text/encoding/charmap"

// Code pages that golang.org/x/text does not carry, as their upper halves
// (0x80–0xFF). U+FFFD marks positions the page leaves undefined.

// cp737 is the DOS Greek page (ESC t 14).
var cp737 = [128]rune{
	// 0x80: capitals Α–Ω
	'Α', 'Β', 'Γ', 'Δ', 'Ε', 'Ζ', 'Η', 'Θ', 'Ι', 'Κ', 'Λ', 'Μ', 'Ν', 'Ξ', 'Ο', 'Π',
	'Ρ', 'Σ', 'Τ', 'Υ', 'Φ', 'Χ', 'Ψ', 'Ω',
	// 0x98: small α–ψ (with final sigma)
	'α', 'β', 'γ', 'δ', 'ε', 'ζ', 'η', 'θ',
	'ι', 'κ', 'λ', 'μ', 'ν', 'ξ', 'ο', 'π', 'ρ', 'σ', 'ς', 'τ', 'υ', 'φ', 'χ', 'ψ',
	// 0xB0: box drawing as in CP437
	'░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐',
	'└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧',
	'╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀',
	// 0xE0: ω and the accented letters
	'ω', 'ά', 'έ', 'ή', 'ϊ', 'ί', 'ό', 'ύ', 'ϋ', 'ώ', 'Ά', 'Έ', 'Ή', 'Ί', 'Ό', 'Ύ',
	'Ώ', '±', '≥', '≤', 'Ϊ', 'Ϋ', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u00A0',
}

// cp857 is the DOS Turkish page (ESC t 13): CP850 with the Turkish
// letters in place of some Latin-1 ones; 0xD5 is the euro sign of the
// later IBM-857 revision.
var cp857 = func() (t [128]rune) {
	for i := range t {
		t[i] = charmap.CodePage850.DecodeByte(byte(0x80 + i))
	}
	for b, r := range map[byte]rune{
		0x8D: 'ı', 0x98: 'İ', 0x9E: 'Ş', 0x9F: 'ş', 0xA6: 'Ğ', 0xA7: 'ğ',
		0xD0: 'º', 0xD1: 'ª', 0xD5: '€', 0xE7: '×', 0xE8: '\uFFFD', 0xEC: 'ì', 0xED: 'ÿ', 0xF2: '\uFFFD',
	} {
		t[b-0x80] = r
	}
	return t
}()
