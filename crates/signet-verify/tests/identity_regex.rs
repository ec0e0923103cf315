//! Identity regexes mean what Go's `regexp` (cosign, sigstore-go) makes of them: ASCII-only Perl
//! classes and word boundaries, Unicode everywhere else, and a refusal for syntax the two read
//! differently. Expected results are Go's, from the `regexp/syntax` documentation.

use proptest::prelude::*;
use signet_verify::{Matcher, PolicyError};

fn matches(pattern: &str, value: &str) -> bool {
    match Matcher::regex(pattern) {
        Ok(m) => m.matches(value),
        Err(e) => panic!("{pattern:?} should compile: {e}"),
    }
}

fn check(cases: &[(&str, &str, bool)]) {
    for &(pattern, value, go) in cases {
        assert_eq!(
            matches(pattern, value),
            go,
            "{pattern:?} on {value:?}: Go says {go}"
        );
    }
}

#[test]
fn perl_classes_outside_brackets_are_ascii() {
    check(&[
        (r"^\d+$", "2024", true),
        (r"^\d+$", "٢٠٢٤", false), // Arabic-Indic digits
        (r"^\d+$", "１２", false), // fullwidth digits
        (r"^\D$", "x", true),
        (r"^\D$", "٣", true), // not [0-9], so \D in Go (and not \D in Unicode)
        (r"^\D$", "7", false),
        (r"^\D+$", "٣7", false),
        (
            r"^https://accounts\.example\.com/\w+$",
            "https://accounts.example.com/alice_1",
            true,
        ),
        (
            r"^https://accounts\.example\.com/\w+$",
            "https://accounts.example.com/аlice",
            false,
        ), // Cyrillic а
        (r"^\w+$", "é", false),
        (r"^\W$", "é", true),
        (r"^\W$", "-", true),
        (r"^\W$", "a", false),
        (r"^\W+$", "é_", false),
        (r"^a\sb$", "a b", true),
        (r"^a\sb$", "a\tb", true),
        (r"^a\sb$", "a\u{a0}b", false),
        (r"^a\sb$", "a\u{2003}b", false),
        (r"^\S$", "\u{a0}", true),
        (r"^\S$", "\u{2003}", true),
        (r"^\S$", " ", false),
        (r"^\S+$", "é ", false),
    ]);
}

#[test]
fn perl_classes_inside_brackets_are_ascii() {
    check(&[
        (r"^[\d]+$", "42", true),
        (r"^[\d]+$", "٤٢", false),
        (r"^[^\d]$", "٤", true),
        (r"^[^\d]$", "4", false),
        (r"^[\D]$", "٤", true),
        (r"^[\D]$", "4", false),
        (r"^[^\D]+$", "42", true),
        (r"^[^\D]+$", "٤٢", false),
        (r"^[\w.-]+$", "my-repo.v2", true),
        (r"^[\w.-]+$", "my-rеpo", false), // Cyrillic е
        (r"^[^\w]$", "é", true),
        (r"^[^\w]$", "a", false),
        (r"^[\W]$", "é", true),
        (r"^[\W]$", "_", false),
        (r"^[^\W]+$", "abc", true),
        (r"^[^\W]+$", "ábc", false),
        (r"^a[\s]b$", "a b", true),
        (r"^a[\s]b$", "a\u{a0}b", false),
        (r"^[^\s]$", "\u{a0}", true),
        (r"^[^\s]$", " ", false),
        (r"^[\S]$", "\u{2003}", true),
        (r"^[\S]$", "\n", false),
        (r"^[^\S]$", "\r", true),
        (r"^[^\S]$", "\u{2003}", false),
        (r"^[\d\s]+$", "1 2", true),
        (r"^[\d\s]+$", "1\u{a0}2", false),
    ]);
}

#[test]
fn word_boundaries_are_ascii() {
    check(&[
        (r"^\bfoo\b$", "foo", true),
        (r"a\b", "aé", true),        // é is not an ASCII word character
        (r"\bé", "é", false),        // so there is no boundary before it
        (r"\bfoo\b", "éfooé", true), // but there is one around foo
        (r"\bfoo\b", "xfoo", false),
        (r"a\Bb", "ab", true),
        (r"a\B", "aé", false),
        (r"^é\B", "é", true),
        (r"\B", "é", true),
        (r"\B☃\B", " ☃ ", true),
        (r"\B☃\B", "a☃b", false),
        // Every character boundary of "aéb" is an ASCII word boundary; \B holds only between
        // the bytes of é, which is no position at all.
        (r"\B", "aéb", false),
        (r"x|\B", "aéb", false),
        // And an empty \B there must not hide the real match of é (see go_regex.rs).
        (r"(?:é|\B)", "aéb", true),
        (r"(?:éb|\B)", "aéb", true),
    ]);
}

#[test]
fn vertical_tab_is_not_perl_space() {
    check(&[
        (r"^\v$", "\x0B", true),
        (r"^\s$", "\x0B", false),
        (r"^[\s]$", "\x0B", false),
        (r"^[^\s]$", "\x0B", true),
        (r"^\S$", "\x0B", true),
        (r"^[[:space:]]$", "\x0B", true), // the POSIX class has \v, in Go too
    ]);
}

#[test]
fn unicode_literals_classes_and_case_folding_stay_unicode() {
    check(&[
        (r"(?i)^https://GITHUB\.com/\w+$", "https://github.com/Org", true),
        (r"(?i)^é$", "É", true),
        (r"^café$", "café", true),
        (r"^.$", "é", true),
        (r"^\pL+$", "héllo", true),
        (r"^\pL+$", "привет", true),
        (r"^\pL+$", "h3llo", false),
        (r"^\p{Greek}+$", "αβγ", true),
        (r"^\p{^Greek}$", "α", false), // Go's negation syntax
        (r"^\p{^Greek}$", "a", true),
        (r"^\P{^Greek}$", "α", true),
        (r"^[[:alpha:]]$", "é", false),
        // Go folds its Perl classes under (?i): the Kelvin sign and long s fold to k and s.
        (r"(?i)^\w$", "\u{212A}", true),
        (r"(?i)^\w$", "\u{17F}", true),
        (r"^\w$", "\u{212A}", false),
        (r"(?i)^\W$", "\u{212A}", false),
        (r"(?i)^[^\w]$", "\u{17F}", false),
        (r"(?i)^[^\W]$", "\u{17F}", true),
        // Go reads \< and \> as escaped punctuation.
        (r"^\<a\>$", "<a>", true),
        (r"^a{2}$", "aa", true),
        (r"^a{2,3}?$", "aaa", true),
        (r"^a{2,}$", "aaaa", true),
        (r"^a{0}b$", "b", true),
    ]);
    assert!(matches(r"^a{1000}$", &"a".repeat(1000)));
}

#[test]
fn syntax_read_differently_is_refused() {
    for (pattern, reason) in [
        (r"\Qa.b\E", r"\Q...\E"),
        (r"a\C", "unrecognized escape"),
        (r"(?=a)", "look-around"),
        (r"(?!a)", "look-around"),
        (r"(?<=a)b", "look-around"),
        (r"(?<!a)b", "look-around"),
        (r"(a)\1", "backreferences"),
        (r"\012", "octal"),
        (r"[a&&b]", "set operations"),
        (r"[a--b]", "set operations"),
        (r"[a~~b]", "set operations"),
        (r"[a[b]]", "nested class"),
        (r"[[:word:][x]]", "nested class"),
        (r"(?x)a b", "flags i, m, s and U"),
        (r"(?-u)a", "flags i, m, s and U"),
        (r"(?u:a)", "flags i, m, s and U"),
        (r"(?R)a", "flags i, m, s and U"),
        (r"\b{start}a", "literal text"),
        (r"a\b{end}", "literal text"),
        (r"a{ 2 }", "literal text"),
        (r"a{2, 3}", "literal text"),
        (r"a{01}", "literal text"),
        (r"a{1001}", "above 1000"),
        (r"a{2,1001}", "above 1000"),
        (r"a{99999999999}", "decimal"),
        (r"a**", "stacked"),
        (r"a++", "stacked"),
        (r"a*?+", "stacked"),
        (r"\u0041", r"\x{...}"),
        (r"\U{41}", r"\x{...}"),
        (r"[\u0041]", r"\x{...}"),
        (r"\p{scx=Greek}", "name=value"),
        (r"\p{Alphabetic}", "categories and scripts"),
        (r"[\p{Emoji}]", "categories and scripts"),
        (r"(?P<a.b>x)", "capture names"),
        (r"[\b]", "character class"),
        (r"(", "unclosed group"),
    ] {
        match Matcher::regex(pattern) {
            Err(PolicyError::Regex {
                pattern: p,
                reason: r,
            }) => {
                assert_eq!(p, pattern);
                assert!(
                    r.contains(reason),
                    "{pattern:?}: reason {r:?} should mention {reason:?}"
                );
            }
            Err(e) => panic!("{pattern:?}: unexpected error {e}"),
            Ok(_) => panic!("{pattern:?} must be refused"),
        }
    }
}

#[test]
fn names_go_accepts_compile() {
    for pattern in [
        r"\pL",
        r"\p{Lu}",
        r"\p{Greek}",
        r"\p{Any}",
        r"\p{Han}",
        r"[\p{Nd}\P{Cyrillic}]",
        r"(?P<n_1>x)(?<m>y)",
    ] {
        assert!(Matcher::regex(pattern).is_ok(), "{pattern:?}");
    }
}

// Go's Perl classes, from the `regexp/syntax` documentation.
fn go_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ')
}

fn go_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether Go's `\b` (`boundary`) or `\B` (`!boundary`) holds at some character boundary.
fn go_some_position(s: &str, boundary: bool) -> bool {
    let chars: Vec<char> = s.chars().collect();
    (0..=chars.len()).any(|i| {
        let before = i > 0 && go_word(chars[i - 1]);
        let after = i < chars.len() && go_word(chars[i]);
        (before != after) == boundary
    })
}

/// Characters on both sides of every ASCII/Unicode disagreement.
const MIXED: &str = "[aZ_7 \t\n\x0B\u{a0}\u{2003}éаК٣☃\u{212A}\u{17F}.-]{0,8}";

/// Pieces whose ASCII meaning equals their Unicode one on ASCII text other than `\v`.
const PIECES: &[&str] = &[
    r"\d",
    r"\D",
    r"\w",
    r"\W",
    r"\s",
    r"\S",
    r"\b",
    r"\B",
    r"[\w-]",
    r"[^\d]",
    r"[\D]",
    r"[^\W.]",
    r"[\s\d]",
    r"[^\S]",
    "a",
    "b",
    "-",
    ".",
    r"\.",
    "^",
    "$",
    "x*",
    r"\w+",
    r"\d?",
    r"(?:a|\s)",
    r"[[:alpha:]]",
    r"\pL",
    r"(?i:k)",
    "(?i)",
    r"\B\w",
    r"(\w)",
    r"\b\d",
];

proptest! {
    #[test]
    fn perl_classes_match_go_on_any_text(s in MIXED) {
        let all = |f: fn(char) -> bool| s.chars().all(f);
        for (pattern, go) in [
            (r"^\d*$", all(go_digit)),
            (r"^[\d]*$", all(go_digit)),
            (r"^\D*$", all(|c| !go_digit(c))),
            (r"^[^\d]*$", all(|c| !go_digit(c))),
            (r"^\w*$", all(go_word)),
            (r"^[^\W]*$", all(go_word)),
            (r"^\W*$", all(|c| !go_word(c))),
            (r"^[^\w]*$", all(|c| !go_word(c))),
            (r"^\s*$", all(go_space)),
            (r"^[\s]*$", all(go_space)),
            (r"^\S*$", all(|c| !go_space(c))),
            (r"^[\S]*$", all(|c| !go_space(c))),
            (r"\b", go_some_position(&s, true)),
            (r"\B", go_some_position(&s, false)),
            (r"(?:é|\B)", s.contains('é') || go_some_position(&s, false)),
            (r"(?:☃|\b)", s.contains('☃') || go_some_position(&s, true)),
        ] {
            prop_assert_eq!(matches(pattern, &s), go, "{:?} on {:?}", pattern, s);
        }
    }

    #[test]
    fn ascii_text_matches_as_before(
        pieces in prop::collection::vec(prop::sample::select(PIECES), 1..5),
        alternate in any::<bool>(),
        text in "[ -~\t\n\r\x0C]{0,10}",
    ) {
        let pattern = pieces.join(if alternate { "|" } else { "" });
        if let Ok(unicode) = regex_automata::meta::Regex::new(&pattern) {
            let go = Matcher::regex(&pattern);
            prop_assert!(go.is_ok(), "{:?}: {:?}", pattern, go.err());
            if let Ok(go) = go {
                prop_assert_eq!(go.matches(&text), unicode.is_match(&text), "{:?} on {:?}", pattern, text);
            }
        }
    }
}
