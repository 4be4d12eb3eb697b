//! Regex value patterns: the byte-sequence matcher answers as the regex crate does, and the common
//! patterns take it.

use proptest::prelude::*;
use sipaccord_agreement::{Pattern, ValueType};

/// Patterns with the byte-sequence matcher (`true`) or the regex engine (`false`), as `Pattern::new`
/// should choose.
const PATTERNS: &[(&str, bool)] = &[
    (r"\+[1-9][0-9]{6,14}", true),
    ("[a-z0-9-]{1,20}", true),
    ("abc[0-9]+x?", true),
    (r"[a-z]+[0-9]*\.?", true),
    ("(?i)fmc", true),
    ("(?-u:\\d){3}", true),
    ("", true),
    ("x{0}", true),
    ("[a-z]{2,}?", true),
    ("([a-f]{0,3})([0-9]{0,2})[g-z]?", true),
    ("[a-z]{3}[a-z]{2,4}", true),
    ("sip:[0-9]+@(acme)\\.example", true),
    (r"[\x00-\x7f]{2}", true),
    // One-byte alternatives are a class.
    ("a|b", true),
    // Fall back: alternation, groups repeated, Unicode classes, non-ASCII, assertions, overlaps.
    ("ab|cd", false),
    ("(ab)+", false),
    (r"\d{3}", false),
    (r"\w+", false),
    ("(?i)sk", false),
    (".+", false),
    ("[^a]", false),
    ("é+", false),
    ("^ab$", false),
    (r"a\b", false),
    ("[a-z]*[a-c]", false),
    ("[0-9]{2,4}[a-f]{1,2}[0-9]", false),
    ("(?:[0-9]{2}-){2}", false),
    ("x?x", false),
    ("sip:[a-z]+@(acme)\\.example", false),
];

#[test]
fn common_patterns_take_the_byte_matcher() {
    for (source, sequence) in PATTERNS {
        let p = Pattern::new(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(p.is_byte_sequence(), *sequence, "{source}");
    }
    // One item per literal byte, up to 64 items.
    assert!(Pattern::new(&"0123456789abcdef".repeat(4)).expect("compiles").is_byte_sequence());
    assert!(!Pattern::new(&"0123456789abcdef".repeat(5)).expect("compiles").is_byte_sequence());
    // The agreement fixtures' E.164 type: it must not silently go back to the regex engine.
    let src = std::fs::read_to_string(crate::root().join("fixtures/interop/telegent-acme.agreement")).expect("fixture");
    let contract = sipaccord_agreement::compile(&src, "telegent-acme.agreement").contract.expect("compiles");
    let pai = contract.header("P-Asserted-Identity").and_then(|h| h.value.as_ref()).expect("typed");
    let ValueType::NameAddr { fields } = pai else { panic!("name-addr: {pai:?}") };
    let Some(ValueType::Regex { pattern }) = fields.user.as_deref() else { panic!("user regex: {fields:?}") };
    assert!(pattern.is_byte_sequence(), "{}", pattern.source);
}

/// Text for one of [`PATTERNS`]: some it matches (made from the pattern), near misses of those, and
/// text from characters the patterns use and characters that look like them.
fn candidates(source: &'static str) -> BoxedStrategy<String> {
    let chars = proptest::sample::select(vec![
        'a', 'b', 'c', 'f', 'F', 'm', 'x', 'z', 'K', 'k', 's', 'S', '0', '1', '4', '9', '+', '-', '.', '@', ':', 'é',
        '\u{212A}', 'ſ', ' ', '\t', '\n', '٣',
    ]);
    let random = proptest::collection::vec(chars.clone(), 0..24).prop_map(|cs| cs.into_iter().collect::<String>());
    // Patterns with assertions have no generator: random text alone for those.
    let made =
        || proptest::string::string_regex(source).ok().map(|m| m.prop_map(|s| s.chars().take(40).collect::<String>()));
    let (Some(made), Some(again)) = (made(), made()) else { return random.boxed() };
    let near = (again, any::<prop::sample::Index>(), chars, 0..3u8).prop_map(|(s, at, c, op)| {
        let mut cs: Vec<char> = s.chars().collect();
        let i = at.index(cs.len() + 1);
        match op {
            0 => cs.insert(i, c),
            1 if i < cs.len() => {
                cs.remove(i);
            }
            _ if i < cs.len() => cs[i] = c,
            _ => cs.push(c),
        }
        cs.into_iter().collect()
    });
    prop_oneof![made, near, random].boxed()
}

fn pattern_and_text() -> impl Strategy<Value = (&'static str, String)> {
    (0..PATTERNS.len()).prop_flat_map(|i| (Just(PATTERNS[i].0), candidates(PATTERNS[i].0)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// The pattern's answer is the regex crate's, on text and (as a value type) on bytes, including
    /// blanks around the value and bytes that are not UTF-8.
    #[test]
    fn byte_matcher_agrees_with_regex((source, text) in pattern_and_text(), pad in 0..4usize) {
        let p = Pattern::new(source).expect("compiles");
        prop_assert_eq!(p.is_match(&text), p.regex.is_match(&text), "{:?} on {:?}", source, text);
        let mut bytes = text.clone().into_bytes();
        match pad {
            1 => bytes = [b" \t", &bytes[..], b" "].concat(),
            2 => bytes.push(0xff),
            3 => bytes.insert(0, 0xc3),
            _ => {}
        }
        let expected = std::str::from_utf8(&bytes).is_ok_and(|t| p.regex.is_match(t.trim_matches([' ', '\t'])));
        let t = ValueType::Regex { pattern: p };
        prop_assert_eq!(t.matches(&bytes), expected, "{:?} on {:?}", source, bytes);
    }
}
