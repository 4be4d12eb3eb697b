//! Byte-level building blocks shared by the typed views: character classes, whitespace, quoted strings,
//! comma lists and `;name=value` parameters.

/// A 256-entry membership table: ASCII letters and digits plus `marks`.
const fn byte_class(marks: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < marks.len() {
        table[marks[i] as usize] = true;
        i += 1;
    }
    table
}

static TOKEN: [bool; 256] = byte_class(b"-.!%*_+`'~");
/// RFC 3261 `word` characters (Call-ID), as [`CALL_ID_WEIGHT`] holds them.
static WORD: [bool; 256] = byte_class(b"-.!%*_+`'~()<>:\\\"/[]?{}");
static PARAM_NAME: [bool; 256] = byte_class(b"-.!%*_+`'~[]/:&$");
static PARAM_VALUE: [bool; 256] = byte_class(b"-.!%*_+`'~:[]/&$@?()");

/// RFC 3261 `token` characters.
#[inline]
pub(crate) fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// Each byte's weight in a Call-ID: 0 for a word byte, 1 for `@`, 2 for any other (see
/// [`call_id_weight`]).
static CALL_ID_WEIGHT: [u8; 256] = {
    let mut table = [2u8; 256];
    let mut b = 0;
    while b < 256 {
        if WORD[b] {
            table[b] = 0;
        }
        b += 1;
    }
    table[b'@' as usize] = 1;
    table
};

/// The sum of the bytes' [`CALL_ID_WEIGHT`]s: 0 when all are word bytes, 1 when one is `@` and the
/// others word bytes, more otherwise. Sixteen bytes a step where the target has SSSE3 (see
/// `search::classes`) and the value has sixteen, else [`call_id_weight_bytes`].
pub(crate) fn call_id_weight(value: &[u8]) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "ssse3"))]
    {
        /// Word bytes and `@`.
        static WORD_OR_AT: [u8; 16] = {
            let mut members = WORD;
            members[b'@' as usize] = true;
            crate::search::classes::nibble_table(&members)
        };
        if let Some(weight) = crate::search::classes::call_id_weight(&WORD_OR_AT, value) {
            return weight;
        }
    }
    call_id_weight_bytes(value)
}

/// [`call_id_weight`] a byte at a time. The sum has no early exit, so eight bytes cost about sixteen
/// instructions (a load and an add each) where a search for the first byte outside the class costs
/// about fifty; Call-IDs are long (30 to 60 bytes) and nearly always valid.
pub(crate) fn call_id_weight_bytes(value: &[u8]) -> usize {
    let weight = |b: &u8| usize::from(CALL_ID_WEIGHT[usize::from(*b)]);
    let chunks = value.chunks_exact(8);
    let tail: usize = chunks.remainder().iter().map(weight).sum();
    chunks.fold(tail, |sum, chunk| sum + chunk.iter().map(weight).sum::<usize>())
}

/// Whitespace inside a header value: SP and HT, and the CR LF of a folded line.
#[inline]
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Whether every byte is a token byte (and there is at least one).
#[inline]
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token_byte(b))
}

/// Strips linear whitespace from both ends.
#[inline]
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_lws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_lws(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// Strips linear whitespace from the start.
#[inline]
pub(crate) fn trim_start(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_lws(b)).unwrap_or(s.len());
    &s[start..]
}

/// Length of the quoted string at the start of `s` (which starts with `"`), closing quote included;
/// `None` when it is not terminated.
pub(crate) fn quoted_len(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Position of the first `needle` outside quoted strings and `<...>`; `Err` when a quote is unbalanced.
pub(crate) fn find_unquoted(s: &[u8], needle: u8) -> Result<Option<usize>, &'static str> {
    let mut i = 0;
    let mut angle = false;
    while i < s.len() {
        let b = s[i];
        if b == b'"' {
            i += quoted_len(&s[i..]).ok_or("unterminated quoted string")?;
            continue;
        }
        if angle {
            if b == b'>' {
                angle = false;
            }
        } else if b == needle {
            return Ok(Some(i));
        } else if b == b'<' {
            angle = true;
        }
        i += 1;
    }
    Ok(None)
}

/// Length of the run of bytes `in_class` takes at the start of `s`.
///
/// Eight bytes a step, then four, each byte tested on its own (a load, a table test and a branch):
/// one length check and one step for eight bytes instead of one for each byte, about three and a
/// half instructions a byte instead of six. (Folding the classes of eight bytes before one test
/// costs more on runs this short: most end within a dozen bytes, and the byte that ends one is then
/// looked for again.)
#[inline(always)]
pub(crate) fn run_while(s: &[u8], in_class: impl Fn(u8) -> bool) -> usize {
    let mut rest = s;
    while let Some((chunk, after)) = rest.split_first_chunk::<8>() {
        let at = s.len() - rest.len();
        for (k, &b) in chunk.iter().enumerate() {
            if !in_class(b) {
                return at + k;
            }
        }
        rest = after;
    }
    if let Some((&[a, b, c, d], after)) = rest.split_first_chunk::<4>() {
        let at = s.len() - rest.len();
        if !in_class(a) {
            return at;
        }
        if !in_class(b) {
            return at + 1;
        }
        if !in_class(c) {
            return at + 2;
        }
        if !in_class(d) {
            return at + 3;
        }
        rest = after;
    }
    s.len() - rest.len() + rest.iter().take_while(|&&b| in_class(b)).count()
}

/// Bytes of a list element that settle nothing in [`has_empty_element`]: all but the comma, the
/// quote, `<` and whitespace.
static LIST_PLAIN: [bool; 256] = {
    let mut table = [true; 256];
    let mut i = 0;
    let special = *b",\"< \t\r\n";
    while i < special.len() {
        table[special[i] as usize] = false;
        i += 1;
    }
    table
};

/// Whether splitting `value` at top-level commas (as [`ListItems`] does) gives an empty element.
/// A value without quotes or `<` (`INVITE, ACK, BYE`) is settled in one pass over its bytes, and so
/// is one whose first quote or `<` has no comma after it; any other goes through [`ListItems`].
pub(crate) fn has_empty_element(value: &[u8]) -> bool {
    // Whether the element being read has a byte other than whitespace so far.
    let mut filled = false;
    let mut i = 0;
    loop {
        // The bytes that only fill the element are skipped as a run.
        let plain = run_while(&value[i..], |b| LIST_PLAIN[usize::from(b)]);
        filled |= plain > 0;
        i += plain;
        let Some(&b) = value.get(i) else { break };
        match b {
            b',' if !filled => return true,
            b',' => filled = false,
            // The element is not empty (it holds this byte); without a comma after it, it is the last.
            b'"' | b'<' => {
                return memchr::memchr(b',', &value[i..]).is_some() && ListItems::new(value).any(<[u8]>::is_empty)
            }
            _ => {} // whitespace
        }
        i += 1;
        // Elements are usually separated by `, `: a space after a comma or a space is whitespace the
        // element's state does not change with, skipped here for less than a run costs.
        if value.get(i) == Some(&b' ') {
            i += 1;
        }
    }
    !filled
}

/// Iterator over the comma-separated elements of a list header value, each trimmed.
/// Commas inside quoted strings, inside `<...>` and escaped inside quotes do not split.
/// An unterminated quoted string ends the list with the rest of the value as its last element.
#[derive(Debug, Clone)]
pub struct ListItems<'a> {
    rest: Option<&'a [u8]>,
    split: bool,
}

impl<'a> ListItems<'a> {
    /// Splits `value` at top-level commas.
    pub fn new(value: &'a [u8]) -> Self {
        ListItems { rest: Some(value), split: true }
    }

    /// Yields the whole value as its only element (for headers that are not lists).
    pub fn single(value: &'a [u8]) -> Self {
        ListItems { rest: Some(value), split: false }
    }
}

impl<'a> Iterator for ListItems<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        if !self.split {
            self.rest = None;
            return Some(trim(rest));
        }
        // Most values hold no quote and no `<`: the first comma, if any, splits. List elements are
        // often short (`ACK, BYE`), where a plain loop beats a vectorised search's set-up; longer
        // values go to the vectorised search after the first 16 bytes.
        let head = rest.len().min(16);
        let special = rest[..head]
            .iter()
            .position(|&b| matches!(b, b',' | b'"' | b'<'))
            .or_else(|| memchr::memchr3(b',', b'"', b'<', &rest[head..]).map(|i| head + i));
        let split_at = match special {
            None => Ok(None),
            Some(at) if rest[at] == b',' => Ok(Some(at)),
            Some(_) => find_unquoted(rest, b','),
        };
        match split_at {
            Ok(Some(comma)) => {
                self.rest = Some(&rest[comma + 1..]);
                Some(trim(&rest[..comma]))
            }
            _ => {
                self.rest = None;
                Some(trim(rest))
            }
        }
    }
}

/// One `;name[=value]` parameter; names and values as written (a quoted value keeps its quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The parameter name.
    pub name: &'a [u8],
    /// The value, if there is an `=`.
    pub value: Option<&'a [u8]>,
}

impl<'a> Param<'a> {
    /// The name as text (parameter names are tokens, so always ASCII when well-formed).
    pub fn name_str(&self) -> &'a str {
        crate::text::text(self.name).unwrap_or("")
    }

    /// The value as text with surrounding quotes removed (escapes left as written).
    pub fn value_unquoted(&self) -> Option<&'a [u8]> {
        self.value.map(|v| if v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"' { &v[1..v.len() - 1] } else { v })
    }
}

/// Parameters after a value: `;a=1;b;c="x y"`. Iterates lazily; a malformed parameter yields an error
/// and ends the iteration.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    rest: &'a [u8],
    failed: bool,
    /// The next parameter has no `;` before it (the first of [`Params::unprefixed`]).
    unprefixed: bool,
}

impl<'a> Params<'a> {
    /// Parameters from text that starts at the first `;` (or is empty).
    pub fn new(text: &'a [u8]) -> Self {
        Params { rest: text, failed: false, unprefixed: false }
    }

    /// Parameters from text that starts with the first parameter itself (`a=1;b`, as in a header
    /// whose whole value is parameters): what [`Params::new`] gives for the text with a `;` before
    /// it, without copying it. Empty text has no parameters.
    pub fn unprefixed(text: &'a [u8]) -> Self {
        Params { rest: text, failed: false, unprefixed: !text.is_empty() }
    }

    /// The value of the first parameter named `name` (case-insensitive); `Some(None)` for a flag parameter.
    pub fn get(&self, name: &str) -> Option<Option<&'a [u8]>> {
        self.clone().map_while(Result::ok).find(|p| p.name.eq_ignore_ascii_case(name.as_bytes())).map(|p| p.value)
    }

    /// What [`Params::get`] answers for `name` when that parameter is the only one and written
    /// plainly (`;name=value`, no whitespace, no quotes), found without the general parser; `None`
    /// for any other text, which [`Params::get`] then reads.
    pub(crate) fn get_sole_plain(&self, name: &[u8]) -> Option<&'a [u8]> {
        let rest = self.rest.strip_prefix(b";")?;
        let (written, value) = rest.split_at_checked(name.len())?;
        let value = value.strip_prefix(b"=")?;
        let plain = written.eq_ignore_ascii_case(name)
            && written.iter().all(|&b| is_param_name_byte(b))
            && !value.is_empty()
            && value.iter().all(|&b| is_param_value_byte(b));
        plain.then_some(value)
    }

    /// Checks every parameter; the first problem found.
    pub fn validate(&self) -> Result<(), &'static str> {
        self.clone().try_for_each(|p| p.map(|_| ()))
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let unprefixed = std::mem::take(&mut self.unprefixed);
        // Whitespace after the `;` is skipped by the parameter's parse, so an unprefixed first
        // parameter keeps its leading whitespace for it.
        let rest = if unprefixed { self.rest } else { trim_start(self.rest) };
        if rest.is_empty() {
            return None;
        }
        if let Some((param, consumed)) = plain_param(rest, !unprefixed) {
            self.rest = &rest[consumed..];
            return Some(Ok(param));
        }
        let result = parse_one_param(rest, !unprefixed);
        match result {
            Ok((param, consumed)) => {
                self.rest = &rest[consumed..];
                Some(Ok(param))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// The commonest parameter, `;name` or `;name=value` without whitespace, quotes or an IPv6 reference
/// and followed by the next `;` or the end, read in two byte-class runs: what [`parse_one_param`] gives for it (a value
/// run is not empty and ends where that function's would), `None` for anything else, which that
/// function then reads.
// Always inlined: `plain::params`, instantiated in the crates that call it, kept it as a call (about
// 360 000 instructions more for the agreement's parameter checks on a 5 MB capture); `Params::next`
// compiles the same either way.
#[inline(always)]
pub(crate) fn plain_param(s: &[u8], prefixed: bool) -> Option<(Param<'_>, usize)> {
    let name_start = usize::from(prefixed);
    if prefixed && s[0] != b';' {
        return None;
    }
    let name_end = name_start + run_while(&s[name_start..], is_param_name_byte);
    if name_end == name_start {
        return None;
    }
    let name = &s[name_start..name_end];
    match s.get(name_end) {
        None | Some(b';') => Some((Param { name, value: None }, name_end)),
        // A value that opens with `[` is an IPv6 reference, read up to its `]`.
        Some(b'=') if s.get(name_end + 1) != Some(&b'[') => {
            let value_end = name_end + 1 + run_while(&s[name_end + 1..], is_param_value_byte);
            let plain = value_end > name_end + 1 && matches!(s.get(value_end), None | Some(b';'));
            plain.then(|| (Param { name, value: Some(&s[name_end + 1..value_end]) }, value_end))
        }
        _ => None,
    }
}

/// One parameter at the start of `s`: after its `;` when `prefixed`, else from the first byte.
fn parse_one_param(s: &[u8], prefixed: bool) -> Result<(Param<'_>, usize), &'static str> {
    if prefixed && s[0] != b';' {
        return Err("expected `;` before a parameter");
    }
    let name_start = skip_while(s, usize::from(prefixed), is_lws);
    let after_name = skip_while(s, name_start, is_param_name_byte);
    let name = &s[name_start..after_name];
    if name.is_empty() {
        return Err("empty parameter");
    }
    let mut i = skip_while(s, after_name, is_lws);
    if i >= s.len() || s[i] != b'=' {
        if i < s.len() && s[i] != b';' {
            return Err("unexpected character after parameter name");
        }
        return Ok((Param { name, value: None }, after_name.max(i)));
    }
    let value_start = skip_while(s, i + 1, is_lws);
    i = value_start;
    if i < s.len() && s[i] == b'"' {
        i += quoted_len(&s[i..]).ok_or("unterminated quoted string in parameter")?;
    } else if i < s.len() && s[i] == b'[' {
        // An IPv6 reference (received=[2001:db8::1]).
        let close = s[i..].iter().position(|&b| b == b']').ok_or("unterminated `[` in parameter")?;
        i += close + 1;
    } else {
        i = skip_while(s, i, is_param_value_byte);
    }
    let value = &s[value_start..i];
    if value.is_empty() {
        return Err("parameter has `=` but no value");
    }
    let end = skip_while(s, i, is_lws);
    if end < s.len() && s[end] != b';' {
        return Err("unexpected character in parameter value");
    }
    Ok((Param { name, value: Some(value) }, i))
}

/// The first index at or after `from` whose byte is not in the class (`s.len()` when all are).
#[inline]
fn skip_while(s: &[u8], from: usize, in_class: impl Fn(u8) -> bool) -> usize {
    let mut i = from;
    while i < s.len() && in_class(s[i]) {
        i += 1;
    }
    i
}

#[inline]
fn is_param_name_byte(b: u8) -> bool {
    PARAM_NAME[usize::from(b)]
}

/// Parameter values: tokens, hosts (with `:` for IPv6 without brackets, RFC 5118 4.5.2) and the URI
/// parameter characters.
#[inline]
fn is_param_value_byte(b: u8) -> bool {
    PARAM_VALUE[usize::from(b)]
}

/// Splits `text` at the first whitespace run: `(before, after)` with `after` starting at non-whitespace.
pub(crate) fn split_lws(text: &[u8]) -> (&[u8], &[u8]) {
    match text.iter().position(|&b| is_lws(b)) {
        Some(i) => (&text[..i], trim_start(&text[i..])),
        None => (text, &[]),
    }
}

/// Parses a non-negative decimal of at most `max_digits` significant digits into `u64`, or `None`.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The Call-ID weight added up sixteen bytes a step (where the target has SSSE3) is the sum of
        /// the bytes' weights.
        #[test]
        fn call_id_weight_is_the_sum_of_the_byte_weights(value in proptest::collection::vec(
            proptest::prop_oneof![
                8 => proptest::sample::select(b"az09AZ-.!%*_+`'~()<>:\\\"/[]?{}".to_vec()),
                2 => proptest::strategy::Just(b'@'),
                1 => proptest::arbitrary::any::<u8>(),
            ],
            0..70,
        )) {
            proptest::prop_assert_eq!(call_id_weight(&value), call_id_weight_bytes(&value));
        }
    }

    #[test]
    fn call_id_weight_of_every_byte_at_every_place() {
        for len in [1, 15, 16, 17, 31, 32, 33, 40] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut value = vec![b'a'; len];
                    value[at] = b;
                    assert_eq!(call_id_weight(&value), call_id_weight_bytes(&value), "{len} {at} {b}");
                }
            }
        }
    }

    fn items(s: &str) -> Vec<String> {
        ListItems::new(s.as_bytes()).map(|i| String::from_utf8_lossy(i).into_owned()).collect()
    }

    #[test]
    fn list_respects_quotes_angles_and_escapes() {
        assert_eq!(
            items(r#""Bell, A" <sip:a@x;p=1,2>, <sip:b@y> , "q\",x" <sip:c@z>"#),
            vec![r#""Bell, A" <sip:a@x;p=1,2>"#, "<sip:b@y>", r#""q\",x" <sip:c@z>"#]
        );
        assert_eq!(items("a,,b"), vec!["a", "", "b"]);
    }

    #[test]
    fn params_parse_flags_values_and_quotes() {
        let p: Vec<_> = Params::new(b" ; branch = z9hG4bK1 ;lr; x=\"a;b\"").map(Result::unwrap).collect();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0], Param { name: b"branch", value: Some(b"z9hG4bK1") });
        assert_eq!(p[1], Param { name: b"lr", value: None });
        assert_eq!(p[2].value_unquoted(), Some(&b"a;b"[..]));
        assert!(Params::new(b";;").validate().is_err());
        assert!(Params::new(b";a=").validate().is_err());
    }

    #[test]
    fn byte_classes_match_the_rfc_3261_grammar() {
        let token: Vec<u8> = (0..=255u8).filter(|&b| is_token_byte(b)).filter(|b| !b.is_ascii_alphanumeric()).collect();
        assert_eq!(token, b"!%'*+-._`~");
        let is_word_byte = |b: u8| CALL_ID_WEIGHT[usize::from(b)] == 0;
        let word: Vec<u8> = (0..=255u8).filter(|&b| is_word_byte(b)).filter(|b| !b.is_ascii_alphanumeric()).collect();
        assert_eq!(word, b"!\"%'()*+-./:<>?[\\]_`{}~");
        let others = |class: fn(u8) -> bool| -> Vec<u8> {
            (0..=255u8).filter(|&b| class(b)).filter(|b| !b.is_ascii_alphanumeric()).collect()
        };
        assert_eq!(others(is_param_name_byte), b"!$%&'*+-./:[]_`~");
        assert_eq!(others(is_param_value_byte), b"!$%&'()*+-./:?@[]_`~");
    }

    #[test]
    fn empty_elements_are_found_without_the_split() {
        for (value, empty) in [
            ("INVITE, ACK, BYE", false),
            ("", true),
            ("a,,b", true),
            ("a, \t ,b", true),
            ("a,", true),
            (" , a", true),
            ("a ,b ", false),
            ("\"x,\" <sip:a>, b", false),
            ("<sip:a>,", true),
        ] {
            assert_eq!(has_empty_element(value.as_bytes()), empty, "{value:?}");
        }
    }

    proptest::proptest! {
        /// The one-pass check answers as the split does, on values made of the bytes that matter.
        #[test]
        fn empty_element_check_agrees_with_the_split(value in r#"[a, \t\r\n"<>\\]{0,12}|(a{0,10}[ \t]?,? ?){0,5}"#) {
            let split = ListItems::new(value.as_bytes()).any(<[u8]>::is_empty);
            proptest::prop_assert_eq!(has_empty_element(value.as_bytes()), split);
        }
    }

    proptest::proptest! {
        /// Without a comma a list value is its only element, as the split finds it.
        #[test]
        fn a_value_without_commas_is_one_element(value in r#"[a \t\r\n"<>\\]{0,12}"#) {
            let split: Vec<_> = ListItems::new(value.as_bytes()).collect();
            let single: Vec<_> = ListItems::single(value.as_bytes()).collect();
            proptest::prop_assert_eq!(split, single);
        }
    }

    proptest::proptest! {
        /// Parameters without their first `;` read as the same text with it.
        #[test]
        fn unprefixed_params_read_as_prefixed(value in r#"[a=; \t"x\\\[\]:]{1,14}"#) {
            let prefixed = format!(";{value}");
            let with: Vec<_> = Params::new(prefixed.as_bytes()).collect();
            let without: Vec<_> = Params::unprefixed(value.as_bytes()).collect();
            proptest::prop_assert_eq!(without, with);
        }
    }

    #[test]
    fn decimals_overflow_to_none() {
        assert_eq!(parse_decimal(b"0068"), Some(68));
        assert_eq!(parse_decimal(b"36893488147419103232"), None);
        assert_eq!(parse_decimal(b"-1"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        /// What the plain path reads is what the general parser reads, on any bytes.
        #[test]
        fn plain_params_read_as_the_general_parser_does(pieces in proptest::collection::vec(proptest::sample::select(vec![
            &b";"[..], b"=", b"a", b"tag", b"x1", b"[", b"]", b"=[", b"::1", b" ", b"\t", b"\"", b"q", b"%", b",", b"\xff", b"-",
            b"@",
        ]), 1..12)) {
            let s = pieces.concat();
            for prefixed in [true, false] {
                if let Some(fast) = plain_param(&s, prefixed) {
                    proptest::prop_assert_eq!(Ok(fast), parse_one_param(&s, prefixed), "{:?}", String::from_utf8_lossy(&s));
                }
            }
        }
    }
}
