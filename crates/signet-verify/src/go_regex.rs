//! Identity regular expressions with the meaning Go's `regexp` gives them.
//!
//! cosign and sigstore-go match `--certificate-identity-regexp` and friends with Go's
//! `regexp.MatchString`: RE2 syntax (Go's `regexp/syntax` package documentation), unanchored. A
//! policy written for them must accept exactly the same identities here, or a policy that
//! refuses an identity under cosign accepts it under signet.
//!
//! # What is rewritten
//!
//! Go's Perl classes are ASCII-only ("Perl character classes (all ASCII-only)" in the
//! `regexp/syntax` docs) and so are its word boundaries ("`\b` at ASCII word boundary"), while
//! regex-syntax's Unicode mode makes them Unicode classes: `^\w+$` would accept Cyrillic letters
//! and `\d` Arabic digits that Go refuses. So, in and out of bracketed classes, negated or not:
//!
//! * `\d` becomes `[0-9]`, `\w` `[0-9A-Za-z_]`, `\s` `[\t\n\f\r ]` (Go's `\s` has no `\v`), and
//!   `\D \W \S` their complements over all of Unicode, as in Go. The rewritten class is still
//!   subject to `(?i)`: Go folds Perl classes under case folding too, so `(?i)\w` matches the
//!   Kelvin sign U+212A and long s U+017F in both.
//! * `\b` becomes regex-syntax's ASCII word boundary `(?-u:\b)`. It can only hold next to an
//!   ASCII word byte, hence never inside a UTF-8 sequence.
//! * `\B` becomes `(?-u:\B)(?:\b|\B)`. The ASCII `(?-u:\B)` alone also holds *between the bytes*
//!   of a multi-byte character (neither byte is an ASCII word byte). regex-automata is meant to
//!   drop such empty matches in UTF-8 mode, but in 0.4.19 `is_match` (an earliest search) then
//!   restarts past the match and can miss a real one: `(?:é|(?-u:\B))` finds `é` in "aéb" with
//!   `find` yet `is_match` says no. Unicode `\b` and `\B` are each false inside a UTF-8
//!   sequence and one of them holds at every character boundary, so `(?:\b|\B)` means "at a
//!   character boundary" — Go's only positions — and no match ever splits a character.
//! * `\<` and `\>` are escaped punctuation in Go (a literal `<`, `>`) but word-start and
//!   word-end assertions in regex-syntax: they become the literals.
//! * `\p{^Name}` is Go's negation of `\p{Name}`; regex-syntax has no such form.
//!
//! # What is refused
//!
//! Syntax whose meaning differs, or that only one side accepts, fails with a reason rather than
//! meaning something else: `\Q…\E` (Go quotes, regex-syntax has no quoting); class set
//! operations `&&` `--` `~~` and a `[` inside a class (literal characters in Go, set operations
//! and nested classes in regex-syntax); counted repetitions Go reads as literal text (`a{ 2 }`,
//! `a{01}`) or refuses (counts above 1000, stacked operators such as `a**` or `a++`); flags
//! other than Go's `i m s U`; `\b{start}` and its kin; `\u`/`\U` escapes; `\p{name=value}` and
//! Unicode properties that are neither a general category nor a script (Go's `\p` takes only
//! `unicode.Categories` and `unicode.Scripts`); capture names other than `[0-9A-Za-z_]+`.
//! Lookaround, backreferences and `\C` are refused by both.
//!
//! # What still differs
//!
//! * Unicode data: regex-syntax 0.8 uses Unicode 16.0, Go 1.21 and later Unicode 15.0, so
//!   `\pL`, scripts and `(?i)` folding differ for characters new in 16.0.
//! * Patterns only Go accepts are refused here: octal escapes (`\0`, `\123`), `\Q…\E`, `[\<]`,
//!   a literal `[` inside a class, and capture names starting with a digit.
//! * Patterns only regex-syntax accepts, with the meaning Go would give them if it accepted
//!   them: loosely spelled Unicode names (`\p{greek}`, `\p{Grek}`, `\p{isGreek}`, and
//!   category aliases such as `\p{Letter}`, which Go accepts from 1.25 on, golang/go#70780),
//!   nested counted repetitions whose product exceeds 1000 (`(a{100}){100}`), and the
//!   different limits on nesting depth and compiled size.

use regex_automata::meta;
use regex_syntax::ast::{
    self, parse::ParserBuilder, Alternation, Assertion, AssertionKind, Ast, ClassBracketed, ClassPerl,
    ClassPerlKind, ClassSet, ClassSetItem, ClassSetRange, ClassSetUnion, ClassUnicode, ClassUnicodeKind,
    Concat, Flag, Flags, FlagsItem, FlagsItemKind, Group, GroupKind, HexLiteralKind, Literal, LiteralKind,
    RepetitionKind, Span,
};
use regex_syntax::hir::translate::TranslatorBuilder;

/// Go's cap on the counts of `x{n,m}` ("Implementation restriction" in `regexp/syntax`).
const GO_MAX_REPEAT: u32 = 1000;

/// Go's Perl classes as character ranges (`regexp/syntax`, "Perl character classes").
const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[(char, char)] = &[('\t', '\n'), ('\x0C', '\r'), (' ', ' ')];

/// Compiles `pattern` to match what Go's `regexp.MatchString` matches; the error is the reason.
///
/// The rewrite is done on regex-syntax's AST, not its HIR: by the HIR, `\w` has already become
/// a Unicode class indistinguishable from `[\p{Alphabetic}\p{M}…]`, `(?i)` has been applied to
/// it, and `\<` is an assertion like `\b{start}`. The AST still says what the user wrote, and
/// handing the rewritten AST to regex-syntax's translator lets it apply flag scoping and case
/// folding to the ASCII classes exactly as Go applies them to its Perl classes.
pub(crate) fn compile(pattern: &str) -> Result<meta::Regex, String> {
    let mut ast = ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| parse_reason(pattern, &e))?;
    Rewriter { pattern }.ast(&mut ast)?;
    let hir = TranslatorBuilder::new()
        .utf8(true)
        .build()
        .translate(pattern, &ast)
        .map_err(|e| format!("{} (at byte {})", e.kind(), e.span().start.offset))?;
    meta::Builder::new()
        .build_from_hir(&hir)
        .map_err(|e| e.to_string())
}

fn parse_reason(pattern: &str, e: &ast::Error) -> String {
    let at = e.span().start.offset;
    let text = pattern.get(at..e.span().end.offset).unwrap_or("");
    match e.kind() {
        ast::ErrorKind::EscapeUnrecognized if text == r"\Q" || text == r"\E" => format!(
            r"`{text}` (at byte {at}): \Q...\E quoting is not supported; escape each metacharacter with `\` instead"
        ),
        ast::ErrorKind::UnsupportedBackreference => format!(
            r"`{text}` (at byte {at}): backreferences are not supported, nor are Go's octal escapes; write `\x{{..}}`"
        ),
        kind => format!("{kind} (at byte {at})"),
    }
}

struct Rewriter<'p> {
    pattern: &'p str,
}

impl Rewriter<'_> {
    fn refuse<T>(&self, span: &Span, why: &str) -> Result<T, String> {
        let text = self.pattern.get(span.start.offset..span.end.offset).unwrap_or("");
        Err(format!("`{text}` (at byte {}): {why}", span.start.offset))
    }

    /// Checks and rewrites `ast` in place. Recursion is bounded by the parser's nest limit.
    fn ast(&self, ast: &mut Ast) -> Result<(), String> {
        if let Some(replacement) = self.replacement(ast)? {
            *ast = replacement;
            return Ok(());
        }
        match ast {
            Ast::Empty(_) | Ast::Dot(_) | Ast::Assertion(_) | Ast::ClassPerl(_) => Ok(()),
            Ast::Flags(set) => self.flags(&set.flags),
            Ast::Literal(lit) => self.literal(lit),
            Ast::ClassUnicode(class) => self.unicode_class(class),
            Ast::ClassBracketed(class) => self.bracketed(class),
            Ast::Repetition(rep) => {
                if let Ast::Repetition(_) = *rep.ast {
                    return self.refuse(
                        &rep.span,
                        "Go refuses stacked repetition operators (no possessive `++` either)",
                    );
                }
                if let RepetitionKind::Range(_) = rep.op.kind {
                    self.counted_repetition(&rep.op.span)?;
                }
                self.ast(&mut rep.ast)
            }
            Ast::Group(group) => {
                match &group.kind {
                    GroupKind::CaptureIndex(_) => {}
                    GroupKind::NonCapturing(flags) => self.flags(flags)?,
                    GroupKind::CaptureName { name, .. } => {
                        if !name.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                            return self
                                .refuse(&name.span, "Go's capture names are made of [0-9A-Za-z_] only");
                        }
                    }
                }
                self.ast(&mut group.ast)
            }
            Ast::Alternation(alt) => alt.asts.iter_mut().try_for_each(|a| self.ast(a)),
            Ast::Concat(concat) => concat.asts.iter_mut().try_for_each(|a| self.ast(a)),
        }
    }

    /// The Go meaning of a node that regex-syntax reads differently, if it is one.
    fn replacement(&self, ast: &Ast) -> Result<Option<Ast>, String> {
        Ok(Some(match ast {
            Ast::ClassPerl(class) => Ast::class_bracketed(ClassBracketed {
                span: class.span,
                negated: class.negated,
                kind: ClassSet::Item(ClassSetItem::Union(ascii_set(class))),
            }),
            Ast::Assertion(a) => match a.kind {
                AssertionKind::WordBoundary => ascii_word_boundary(a.span),
                AssertionKind::NotWordBoundary => ascii_not_word_boundary(a.span),
                AssertionKind::WordBoundaryStartAngle => literal(a.span, '<'),
                AssertionKind::WordBoundaryEndAngle => literal(a.span, '>'),
                AssertionKind::WordBoundaryStart
                | AssertionKind::WordBoundaryEnd
                | AssertionKind::WordBoundaryStartHalf
                | AssertionKind::WordBoundaryEndHalf => {
                    return self.refuse(&a.span, r"Go reads this as `\b` followed by literal text");
                }
                _ => return Ok(None),
            },
            _ => return Ok(None),
        }))
    }

    fn flags(&self, flags: &Flags) -> Result<(), String> {
        for item in &flags.items {
            if let FlagsItemKind::Flag(Flag::Unicode | Flag::CRLF | Flag::IgnoreWhitespace) = item.kind {
                return self.refuse(&item.span, "Go's regexp has only the flags i, m, s and U");
            }
        }
        Ok(())
    }

    fn literal(&self, lit: &Literal) -> Result<(), String> {
        match lit.kind {
            LiteralKind::HexFixed(HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong)
            | LiteralKind::HexBrace(HexLiteralKind::UnicodeShort | HexLiteralKind::UnicodeLong) => {
                self.refuse(&lit.span, r"Go has no `\u`/`\U` escapes; write `\x{...}`")
            }
            _ => Ok(()),
        }
    }

    /// Go takes `x{n}`, `x{n,}` and `x{n,m}` only with plain decimal counts up to 1000, and
    /// reads any other brace text as literal characters (so `a{ 2 }` is six characters there).
    fn counted_repetition(&self, span: &Span) -> Result<(), String> {
        let text = self.pattern.get(span.start.offset..span.end.offset).unwrap_or("");
        let text = text.strip_suffix('?').unwrap_or(text);
        let counts = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or("");
        let (min, max) = match counts.split_once(',') {
            None => (counts, None),
            Some((min, "")) => (min, None),
            Some((min, max)) => (min, Some(max)),
        };
        for count in std::iter::once(min).chain(max) {
            match go_count(count) {
                None => {
                    return self.refuse(
                        span,
                        "Go reads this as literal text: its counts are plain decimals, without spaces or leading zeros",
                    )
                }
                Some(n) if n > GO_MAX_REPEAT => return self.refuse(span, "Go refuses repetition counts above 1000"),
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn unicode_class(&self, class: &mut ClassUnicode) -> Result<(), String> {
        let name = match &mut class.kind {
            ClassUnicodeKind::OneLetter(_) => return Ok(()),
            ClassUnicodeKind::NamedValue { .. } => {
                return self.refuse(
                    &class.span,
                    r"Go's `\p` takes a category or script name, not `name=value`",
                );
            }
            ClassUnicodeKind::Named(name) => name,
        };
        // Go reads `\p{^Greek}` as `\P{Greek}` (regexp/syntax: unicode class negation).
        if let Some(rest) = name.strip_prefix('^') {
            *name = rest.to_string();
            class.negated = !class.negated;
        }
        if !is_category_or_script(name) {
            return self.refuse(
                &class.span,
                "Go's `\\p` takes only Unicode general categories and scripts",
            );
        }
        Ok(())
    }

    fn bracketed(&self, class: &mut ClassBracketed) -> Result<(), String> {
        match &mut class.kind {
            ClassSet::BinaryOp(op) => self.refuse(
                &op.span,
                "Go has no class set operations; it reads `&&`, `--` and `~~` as characters",
            ),
            ClassSet::Item(item) => self.class_item(item),
        }
    }

    fn class_item(&self, item: &mut ClassSetItem) -> Result<(), String> {
        match item {
            ClassSetItem::Empty(_) | ClassSetItem::Ascii(_) => Ok(()),
            ClassSetItem::Literal(lit) => self.literal(lit),
            ClassSetItem::Range(range) => self.literal(&range.start).and_then(|()| self.literal(&range.end)),
            ClassSetItem::Unicode(class) => self.unicode_class(class),
            ClassSetItem::Perl(class) => {
                let (set, span) = (ascii_set(class), class.span);
                *item = if class.negated {
                    ClassSetItem::Bracketed(Box::new(ClassBracketed {
                        span,
                        negated: true,
                        kind: ClassSet::Item(ClassSetItem::Union(set)),
                    }))
                } else {
                    ClassSetItem::Union(set)
                };
                Ok(())
            }
            ClassSetItem::Bracketed(nested) => self.refuse(
                &nested.span,
                r"a `[` inside a class is a literal in Go but opens a nested class here; write `\[`",
            ),
            ClassSetItem::Union(union) => union.items.iter_mut().try_for_each(|i| self.class_item(i)),
        }
    }
}

/// Whether regex-syntax resolves `name` as a general category or a script (or `Any`, `ASCII`,
/// `Assigned`, which Go accepts too), the only kinds of `\p{Name}` Go has; regex-syntax would
/// also take binary properties such as `Alphabetic` or `Emoji`. Asked of regex-syntax itself
/// so both agree on spelling. `name` holds no `}` (it ended the `\p{`), so it cannot break out.
fn is_category_or_script(name: &str) -> bool {
    let resolves = |query: String| {
        let parsed = ParserBuilder::new().build().parse(&query);
        parsed.is_ok_and(|ast| TranslatorBuilder::new().build().translate(&query, &ast).is_ok())
    };
    ["Any", "ASCII", "Assigned"]
        .iter()
        .any(|special| name.eq_ignore_ascii_case(special))
        || resolves(format!(r"\p{{gc={name}}}"))
        || resolves(format!(r"\p{{sc={name}}}"))
}

fn ascii_set(class: &ClassPerl) -> ClassSetUnion {
    let ranges = match class.kind {
        ClassPerlKind::Digit => DIGIT,
        ClassPerlKind::Word => WORD,
        ClassPerlKind::Space => SPACE,
    };
    let span = class.span;
    let lit = |c| Literal {
        span,
        kind: LiteralKind::Verbatim,
        c,
    };
    ClassSetUnion {
        span,
        items: ranges
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    ClassSetItem::Literal(lit(lo))
                } else {
                    ClassSetItem::Range(ClassSetRange {
                        span,
                        start: lit(lo),
                        end: lit(hi),
                    })
                }
            })
            .collect(),
    }
}

/// A repetition count as Go parses one: decimal digits, no leading zero; too large saturates.
fn go_count(count: &str) -> Option<u32> {
    let decimal = !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit());
    if !decimal || (count.len() > 1 && count.starts_with('0')) {
        return None;
    }
    Some(count.parse().unwrap_or(u32::MAX))
}

fn literal(span: Span, c: char) -> Ast {
    Ast::literal(Literal {
        span,
        kind: LiteralKind::Superfluous,
        c,
    })
}

fn assertion(span: Span, kind: AssertionKind) -> Ast {
    Ast::assertion(Assertion { span, kind })
}

/// `(?flags:ast)` with the given flag items (none for a plain `(?:ast)`).
fn group(span: Span, items: Vec<FlagsItemKind>, ast: Ast) -> Ast {
    let items = items.into_iter().map(|kind| FlagsItem { span, kind }).collect();
    Ast::group(Group {
        span,
        kind: GroupKind::NonCapturing(Flags { span, items }),
        ast: Box::new(ast),
    })
}

/// `(?-u:\b)`.
fn ascii_word_boundary(span: Span) -> Ast {
    let not_unicode = vec![FlagsItemKind::Negation, FlagsItemKind::Flag(Flag::Unicode)];
    group(span, not_unicode, assertion(span, AssertionKind::WordBoundary))
}

/// `(?:(?-u:\B)(?:\b|\B))`: not at an ASCII word boundary, and at a character boundary.
fn ascii_not_word_boundary(span: Span) -> Ast {
    let not_unicode = vec![FlagsItemKind::Negation, FlagsItemKind::Flag(Flag::Unicode)];
    let ascii = group(span, not_unicode, assertion(span, AssertionKind::NotWordBoundary));
    let char_boundary = group(
        span,
        vec![],
        Ast::alternation(Alternation {
            span,
            asts: vec![
                assertion(span, AssertionKind::WordBoundary),
                assertion(span, AssertionKind::NotWordBoundary),
            ],
        }),
    );
    group(
        span,
        vec![],
        Ast::concat(Concat {
            span,
            asts: vec![ascii, char_boundary],
        }),
    )
}
