//! The lexer: Go's `text/template/parse/lex.go`, item for item.
//!
//! Items carry their byte offset; line numbers are derived from offsets when an error needs
//! them (Go reports the line where an item starts).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl ItemType {
    pub(crate) fn is_keyword(self) -> bool {
        matches!(
            self,
            ItemType::Block
                | ItemType::Break
                | ItemType::Continue
                | ItemType::Dot
                | ItemType::Define
                | ItemType::Else
                | ItemType::End
                | ItemType::If
                | ItemType::Nil
                | ItemType::Range
                | ItemType::Template
                | ItemType::With
        )
    }
}

/// A lexed item: its type and the byte range of its text in the input (12 bytes, so items
/// travel in registers; the parser slices the text when it needs it: [`Item::val`]). For
/// `Error` items the message is held by the lexer ([`Lexer::error_message`]) and the range
/// is empty. Line numbers are derived from offsets when an error needs them (Go reports the
/// line where an item starts). Offsets fit in `u32`: the parser refuses texts of 4 GiB and
/// more.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub typ: ItemType,
    /// Spaces came before the item inside the action: Go's separate `itemSpace`, folded
    /// into the item that follows it (the lexer emits no `Space` items).
    pub space: bool,
    /// A quoted string (`String` item) with a backslash in it: an escape to decode (the
    /// others are their text between the quotes).
    pub escapes: bool,
    start: u32,
    end: u32,
}

impl Item {
    /// An `Eof` item at offset 0 (a placeholder).
    pub(crate) const EOF0: Item = Item {
        typ: ItemType::Eof,
        space: false,
        escapes: false,
        start: 0,
        end: 0,
    };

    /// An item of `input[start..end]`.
    #[inline]
    pub(crate) fn new(typ: ItemType, start: usize, end: usize) -> Item {
        Item {
            typ,
            space: false,
            escapes: false,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The byte offset where the item starts.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.start as usize
    }

    /// The byte offset where the item ends.
    #[inline]
    pub(crate) fn end(&self) -> usize {
        self.end as usize
    }

    /// The item's text (`input` is the lexed text).
    #[inline]
    pub(crate) fn val<'a>(&self, input: &'a str) -> &'a str {
        &input[self.start as usize..self.end as usize]
    }
}

/// Go's `item.String()`, used in "unexpected X in Y" messages (`err` is the lexer's error
/// message, for `Error` items).
pub(crate) fn describe(it: &Item, input: &str, err: &str) -> String {
    let val = it.val(input);
    match it.typ {
        ItemType::Eof => "EOF".to_string(),
        ItemType::Error => err.to_string(),
        t if t.is_keyword() => format!("<{val}>"),
        _ => {
            if val.len() > 10 {
                let truncated: String = val.chars().take(10).collect();
                format!("{}...", crate::fmt::quote(&truncated))
            } else {
                crate::fmt::quote(val)
            }
        }
    }
}

/// The 1-based line of a byte offset of `text`.
pub(crate) fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    1 + text.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// The item type of a word of letters, digits and `_` (Go's `key` table, then `true` and
/// `false`, then an identifier), decided by its length and first byte before any comparison.
#[inline]
pub(crate) fn word_type(w: &[u8]) -> ItemType {
    let Some(&first) = w.first() else {
        return ItemType::Identifier;
    };
    match (w.len(), first) {
        (2, b'i') if w == b"if" => ItemType::If,
        (3, b'e') if w == b"end" => ItemType::End,
        (3, b'n') if w == b"nil" => ItemType::Nil,
        (4, b'e') if w == b"else" => ItemType::Else,
        (4, b'w') if w == b"with" => ItemType::With,
        (4, b't') if w == b"true" => ItemType::Bool,
        (5, b'b') if w == b"block" => ItemType::Block,
        (5, b'b') if w == b"break" => ItemType::Break,
        (5, b'r') if w == b"range" => ItemType::Range,
        (5, b'f') if w == b"false" => ItemType::Bool,
        (6, b'd') if w == b"define" => ItemType::Define,
        (8, b'c') if w == b"continue" => ItemType::Continue,
        (8, b't') if w == b"template" => ItemType::Template,
        _ => ItemType::Identifier,
    }
}

const LEFT_DELIM: &str = "{{";
const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

#[inline(always)]
pub(crate) fn is_space_byte(b: u8) -> bool {
    SPACE[b as usize]
}

/// Go's `isSpace` bytes: ` `, `\t`, `\r` and `\n`.
static SPACE: [bool; 256] = {
    let mut t = [false; 256];
    t[b' ' as usize] = true;
    t[b'\t' as usize] = true;
    t[b'\r' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

/// The number of space bytes (Go's `isSpace`: ` \t\r\n`, all ASCII, so bytes decide)
/// ending `s`.
fn trailing_spaces(s: &[u8]) -> usize {
    s.iter().rev().take_while(|&&b| is_space_byte(b)).count()
}

/// The number of space bytes starting `s`.
fn leading_spaces(s: &[u8]) -> usize {
    s.iter().take_while(|&&b| is_space_byte(b)).count()
}

/// The offset of a two-byte delimiter in `hay` (a vectorized search for its first byte).
fn find2(hay: &[u8], pat: &[u8]) -> Option<usize> {
    let (a, b) = (pat[0], pat[1]);
    let mut i = 0;
    while let Some(j) = memchr::memchr(a, &hay[i..]) {
        let k = i + j;
        if hay.get(k + 1) == Some(&b) {
            return Some(k);
        }
        i = k + 1;
    }
    None
}

/// The offset of the first `{{` in `hay`: the first 16 bytes are searched 8 at a time
/// (most texts between actions are short), the rest by [`find2`].
#[inline]
fn find_left_delim(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i < 16
        && let Some(chunk) = hay.get(i..i + 8)
    {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        let x = u64::from_le_bytes(a) ^ (ONES * b'{' as u64);
        // The high bit of each zero byte of `x` (each `{`): exact for the lowest one.
        let m = x.wrapping_sub(ONES) & !x & HIGH;
        if m != 0 {
            let k = i + (m.trailing_zeros() / 8) as usize;
            if hay.get(k + 1) == Some(&b'{') {
                return Some(k);
            }
            return find2(&hay[k + 1..], LEFT_DELIM.as_bytes()).map(|j| k + 1 + j);
        }
        i += 8;
    }
    find2(&hay[i..], LEFT_DELIM.as_bytes()).map(|j| i + j)
}

pub(crate) fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    c.is_alphabetic() || c.is_numeric() && is_go_digit(c)
}

/// Go's `unicode.IsDigit` is category Nd; Rust's `is_numeric` also takes Nl/No. Approximate
/// Nd with the characters that have a decimal digit value.
fn is_go_digit(c: char) -> bool {
    if c.is_ascii_digit() {
        return true;
    }
    if c.is_ascii() {
        return false;
    }
    // Superscripts, fractions, roman numerals and circled numbers are not Nd.
    !matches!(c as u32, 0xB2 | 0xB3 | 0xB9 | 0xBC..=0xBE | 0x2070..=0x218F | 0x2460..=0x24FF | 0x2776..=0x2793 | 0x3007 | 0x3021..=0x3029 | 0x3038..=0x303A | 0x3192..=0x3195 | 0x3220..=0x3229 | 0x3248..=0x324F | 0x3251..=0x325F | 0x3280..=0x3289 | 0x32B1..=0x32BF)
}

/// ASCII letters, digits and `_`.
pub(crate) static ASCII_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'_';
        i += 1;
    }
    t
};

fn has_left_trim_marker(s: &[u8]) -> bool {
    s.len() >= 2 && s[0] == b'-' && is_space_byte(s[1])
}

fn has_right_trim_marker(s: &[u8]) -> bool {
    s.len() >= 2 && is_space_byte(s[0]) && s[1] == b'-'
}

/// The offset of the first byte at or after `p` that is not a space (Go's `isSpace`).
#[inline(always)]
pub(crate) fn skip_spaces(b: &[u8], mut p: usize) -> usize {
    while let Some(&c) = b.get(p)
        && is_space_byte(c)
    {
        p += 1;
    }
    p
}

/// Where a word of ASCII letters, digits and `_` from `from` ends, when the lexer would
/// end it there (an ASCII terminator follows: see [`Lexer::at_terminator`]); `None` when
/// the input ends or another character follows (the lexer's general path decides those).
#[inline(always)]
pub(crate) fn word_end(b: &[u8], from: usize) -> Option<usize> {
    let i = ascii_word_run(b, from);
    ends_word_at(b, i).then_some(i)
}

/// The end of the run of ASCII letters, digits and `_` that starts at `from`.
#[inline(always)]
fn ascii_word_run(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(&c) = b.get(i) {
        if !ASCII_WORD[c as usize] {
            break;
        }
        i += 1;
    }
    i
}

/// Whether an ASCII terminator at `i` ends a word there (false at the end of the input).
#[inline(always)]
fn ends_word_at(b: &[u8], i: usize) -> bool {
    match b.get(i) {
        Some(b' ' | b'\t' | b'\r' | b'\n' | b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
        Some(b'}') => b.get(i + 1) == Some(&b'}'),
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Done,
}

pub(crate) struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    paren_depth: i32,
    state: State,
    at_eof: bool,
    /// No left delimiter starts at or after this offset (found by
    /// [`Lexer::text_to_action`], so that the text item does not search again).
    no_delim_from: usize,
    /// The message of the last `Error` item.
    error: String,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a str) -> Self {
        Lexer {
            input,
            pos: 0,
            start: 0,
            paren_depth: 0,
            state: State::Text,
            at_eof: false,
            no_delim_from: usize::MAX,
            error: String::new(),
        }
    }

    /// The text being lexed.
    pub(crate) fn input(&self) -> &'a str {
        self.input
    }

    /// True inside an action (after a left delimiter, before its right delimiter), where
    /// the parser's fast path may read the text itself (see [`Lexer::skip_to`],
    /// [`Lexer::close_action`]).
    #[inline]
    pub(crate) fn inside_action(&self) -> bool {
        self.state == State::InsideAction
    }

    /// The offset where the next item starts (its spaces included).
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// In text: reads to the next action's left delimiter and past it (and its trim
    /// marker), as the `Text` and `LeftDelim` items do; returns the text's range (trimmed)
    /// and the delimiter's offset. `None` (and nothing read) when not in text, when no
    /// action follows and when a comment does.
    #[inline]
    pub(crate) fn text_to_action(&mut self) -> Option<(usize, usize, usize)> {
        if self.state != State::Text {
            return None;
        }
        let b = self.bytes();
        let Some(x) = find_left_delim(b.get(self.pos..)?) else {
            self.no_delim_from = self.pos;
            return None;
        };
        let x = self.pos + x;
        let after = x + LEFT_DELIM.len();
        let rest = &b[after..];
        let trim = has_left_trim_marker(rest);
        let inner = if trim { after + 2 } else { after };
        if b[inner..].starts_with(LEFT_COMMENT.as_bytes()) {
            return None;
        }
        let start = self.start.min(x);
        let end = if trim {
            x - trailing_spaces(&b[start..x])
        } else {
            x
        };
        self.pos = inner;
        self.start = inner;
        self.paren_depth = 0;
        self.state = State::InsideAction;
        Some((start, end, x))
    }

    /// Continues inside the action at `pos`, as after an item that ended there.
    #[inline]
    pub(crate) fn skip_to(&mut self, pos: usize) {
        self.pos = pos;
        self.start = pos;
    }

    /// Continues after the right delimiter at `rd` (`}}`; `trim`: it had a trim marker, so
    /// the spaces after it are skipped), as [`Lexer::lex_right_delim`] does.
    #[inline]
    pub(crate) fn close_action(&mut self, rd: usize, trim: bool) {
        self.pos = rd + RIGHT_DELIM.len();
        if trim {
            self.pos += leading_spaces(&self.bytes()[self.pos..]);
        }
        self.start = self.pos;
        self.state = State::Text;
    }

    /// The message of the `Error` item returned last.
    pub(crate) fn error_message(&self) -> &str {
        &self.error
    }

    fn bytes(&self) -> &'a [u8] {
        self.input.as_bytes()
    }

    #[inline]
    fn next_char(&mut self) -> Option<char> {
        match self.bytes().get(self.pos) {
            Some(&b) if b < 0x80 => {
                self.pos += 1;
                Some(b as char)
            }
            Some(_) => {
                let c = self.input[self.pos..].chars().next()?;
                self.pos += c.len_utf8();
                Some(c)
            }
            None => {
                self.at_eof = true;
                None
            }
        }
    }

    #[inline]
    fn peek_char(&self) -> Option<char> {
        match self.bytes().get(self.pos) {
            Some(&b) if b < 0x80 => Some(b as char),
            Some(_) => self.input[self.pos..].chars().next(),
            None => None,
        }
    }

    #[inline]
    fn backup(&mut self) {
        if !self.at_eof && self.pos > 0 {
            if self.bytes()[self.pos - 1] < 0x80 {
                self.pos -= 1;
                return;
            }
            let c = self.input[..self.pos]
                .chars()
                .next_back()
                .map_or(1, |c| c.len_utf8());
            self.pos -= c;
        }
    }

    #[inline]
    fn item(&mut self, typ: ItemType) -> Item {
        let it = Item::new(typ, self.start, self.pos);
        self.start = self.pos;
        it
    }

    #[cold]
    fn error(&mut self, msg: String) -> Item {
        self.error = msg;
        self.state = State::Done;
        Item::new(ItemType::Error, self.start, self.start)
    }

    /// Go's `accept` for a set of ASCII characters (`valid`): a character outside it, ASCII
    /// or not, is left unread (Go's `next` then `backup`), the end of the input sets
    /// `at_eof`.
    #[inline]
    fn accept(&mut self, valid: impl Fn(u8) -> bool) -> bool {
        match self.bytes().get(self.pos) {
            Some(&b) if valid(b) => {
                self.pos += 1;
                true
            }
            Some(_) => false,
            None => {
                self.at_eof = true;
                false
            }
        }
    }

    /// Go's `acceptRun` for a set of ASCII characters (see [`Lexer::accept`]).
    #[inline]
    fn accept_run(&mut self, valid: impl Fn(u8) -> bool) {
        while self.accept(&valid) {}
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = &self.bytes()[self.pos..];
        if has_right_trim_marker(rest) && rest[2..].starts_with(RIGHT_DELIM.as_bytes()) {
            return (true, true);
        }
        if rest.starts_with(RIGHT_DELIM.as_bytes()) {
            return (true, false);
        }
        (false, false)
    }

    /// Go's `atTerminator`: a space, punctuation that can follow a word, the right
    /// delimiter or the end of the input (spaces and punctuation are ASCII, so the byte
    /// decides).
    #[inline]
    fn at_terminator(&self) -> bool {
        let b = self.bytes();
        match b.get(self.pos) {
            None => true,
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            Some(b'}') => b.get(self.pos + 1) == Some(&b'}'),
            Some(_) => false,
        }
    }

    /// The next item. After `Eof` or `Error`, keeps returning `Eof`.
    #[inline]
    pub(crate) fn next_item(&mut self) -> Item {
        if self.state == State::InsideAction {
            return self.lex_inside_action();
        }
        self.next_item_outside()
    }

    /// `next_item` outside actions: text, delimiters, comments, the end.
    #[inline(never)]
    fn next_item_outside(&mut self) -> Item {
        loop {
            let r = match self.state {
                State::Text => self.lex_text(),
                State::LeftDelim => self.lex_left_delim(),
                State::Comment => self.lex_comment(),
                State::RightDelim => return self.lex_right_delim(),
                State::InsideAction => return self.lex_inside_action(),
                State::Done => {
                    return Item::new(ItemType::Eof, self.input.len(), self.input.len());
                }
            };
            if let Some(it) = r {
                return it;
            }
        }
    }

    fn lex_text(&mut self) -> Option<Item> {
        let found = if self.pos >= self.no_delim_from {
            None
        } else {
            find2(&self.bytes()[self.pos..], LEFT_DELIM.as_bytes())
        };
        if let Some(x) = found {
            if x > 0 {
                self.pos += x;
                let mut trim = 0;
                let delim_end = self.pos + LEFT_DELIM.len();
                if has_left_trim_marker(&self.bytes()[delim_end..]) {
                    let s = &self.input[self.start..self.pos];
                    trim = trailing_spaces(s.as_bytes());
                }
                self.pos -= trim;
                let it = self.item(ItemType::Text);
                self.pos += trim;
                self.start = self.pos;
                self.state = State::LeftDelim;
                if it.end() > it.pos() {
                    return Some(it);
                }
                return self.lex_left_delim();
            }
            self.state = State::LeftDelim;
            return self.lex_left_delim();
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            let it = self.item(ItemType::Text);
            self.state = State::Done;
            return Some(it);
        }
        self.state = State::Done;
        let it = self.item(ItemType::Eof);
        Some(it)
    }

    fn lex_left_delim(&mut self) -> Option<Item> {
        self.pos += LEFT_DELIM.len();
        let trim = has_left_trim_marker(&self.bytes()[self.pos..]);
        let after = if trim { 2 } else { 0 };
        if self.bytes()[self.pos + after..].starts_with(LEFT_COMMENT.as_bytes()) {
            self.pos += after;
            self.start = self.pos;
            self.state = State::Comment;
            return None;
        }
        let it = self.item(ItemType::LeftDelim);
        self.pos += after;
        self.start = self.pos;
        self.paren_depth = 0;
        self.state = State::InsideAction;
        Some(it)
    }

    fn lex_comment(&mut self) -> Option<Item> {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = find2(&self.bytes()[self.pos..], RIGHT_COMMENT.as_bytes()) else {
            return Some(self.error("unclosed comment".into()));
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return Some(self.error("comment ends before closing delimiter".into()));
        }
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT_DELIM.len();
        if trim {
            let s = &self.input[self.pos..];
            self.pos += leading_spaces(s.as_bytes());
        }
        self.start = self.pos;
        self.state = State::Text;
        None
    }

    fn lex_right_delim(&mut self) -> Item {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.start = self.pos;
        }
        self.pos += RIGHT_DELIM.len();
        let it = self.item(ItemType::RightDelim);
        if trim {
            let s = &self.input[self.pos..];
            self.pos += leading_spaces(s.as_bytes());
            self.start = self.pos;
        }
        self.state = State::Text;
        it
    }

    #[inline(never)]
    fn lex_inside_action(&mut self) -> Item {
        // ASCII fast paths (the same items as below, without decoding characters). The
        // right delimiter (`}}`, or ` -}}` with its trim marker) is checked first, as Go
        // does: only a `}` or a space can start it.
        let b = self.bytes();
        if let Some(&c) = b.get(self.pos)
            && is_space_byte(c)
        {
            let rest = &b[self.pos..];
            if has_right_trim_marker(rest) && rest[2..].starts_with(RIGHT_DELIM.as_bytes()) {
                return self.at_right_delim_item();
            }
            // Go's lexSpace, here for the common case: spaces, then no trim-marked right
            // delimiter (` -}}`, whose space belongs to it: `lex_space` sorts that out).
            let mut i = self.pos + 1;
            while let Some(&c) = b.get(i)
                && is_space_byte(c)
            {
                i += 1;
            }
            if b.get(i) == Some(&b'-') && b[i + 1..].starts_with(RIGHT_DELIM.as_bytes()) {
                return self.lex_space();
            }
            self.pos = i;
            self.start = i;
            let mut it = self.lex_action_token();
            it.space = true;
            return it;
        }
        self.lex_action_token()
    }

    /// An item inside an action that does not start with a space.
    #[inline(always)]
    fn lex_action_token(&mut self) -> Item {
        let b = self.bytes();
        let Some(&c) = b.get(self.pos) else {
            self.at_eof = true;
            return self.error("unclosed action".into());
        };
        match c {
            b'}' if b.get(self.pos + 1) == Some(&b'}') => return self.at_right_delim_item(),
            b'.' => {
                if let Some(&n) = b.get(self.pos + 1)
                    && !n.is_ascii_digit()
                {
                    if ASCII_WORD[n as usize]
                        && let Some(end) = self.ascii_word_end(self.pos + 1)
                    {
                        self.pos = end;
                        return self.item(ItemType::Field);
                    }
                    self.pos += 1;
                    return self.lex_field_or_variable(ItemType::Field);
                }
            }
            b'$' => {
                if let Some(&n) = b.get(self.pos + 1)
                    && ASCII_WORD[n as usize]
                    && let Some(end) = self.ascii_word_end(self.pos + 1)
                {
                    self.pos = end;
                    return self.item(ItemType::Variable);
                }
                self.pos += 1;
                return self.lex_variable();
            }
            b'"' => {
                self.pos += 1;
                return self.lex_quote();
            }
            b'|' => {
                self.pos += 1;
                return self.item(ItemType::Pipe);
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => return self.lex_identifier(),
            b'(' => {
                self.pos += 1;
                self.paren_depth += 1;
                return self.item(ItemType::LeftParen);
            }
            b')' if self.paren_depth > 0 => {
                self.pos += 1;
                self.paren_depth -= 1;
                return self.item(ItemType::RightParen);
            }
            _ => {}
        }
        self.lex_action_other()
    }

    /// The rest of [`Lexer::lex_action_token`]: Go's `lexInsideAction` character by
    /// character (kept out of line, so the fast paths stay small).
    #[inline(never)]
    fn lex_action_other(&mut self) -> Item {
        let Some(r) = self.next_char() else {
            return self.error("unclosed action".into());
        };
        match r {
            c if is_space(c) => {
                self.backup();
                self.lex_space()
            }
            '=' => self.item(ItemType::Assign),
            ':' => {
                if self.next_char() != Some('=') {
                    return self.error("expected :=".into());
                }
                self.item(ItemType::Declare)
            }
            '|' => self.item(ItemType::Pipe),
            '"' => self.lex_quote(),
            '`' => self.lex_raw_quote(),
            '$' => self.lex_variable(),
            '\'' => self.lex_char(),
            '.' => {
                if let Some(&b) = self.bytes().get(self.pos)
                    && !b.is_ascii_digit()
                {
                    return self.lex_field_or_variable(ItemType::Field);
                }
                self.backup();
                self.lex_number()
            }
            '+' | '-' | '0'..='9' => {
                self.backup();
                self.lex_number()
            }
            c if is_alnum(c) => {
                self.backup();
                self.lex_identifier()
            }
            '(' => {
                self.paren_depth += 1;
                self.item(ItemType::LeftParen)
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right paren".into());
                }
                self.item(ItemType::RightParen)
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.item(ItemType::Char),
            c => self.error(format!(
                "unrecognized character in action: {}",
                crate::fmt::sharp_u(c)
            )),
        }
    }

    /// At the right delimiter inside an action: it, or Go's "unclosed left paren".
    fn at_right_delim_item(&mut self) -> Item {
        if self.paren_depth == 0 {
            self.state = State::RightDelim;
            return self.lex_right_delim();
        }
        self.error("unclosed left paren".into())
    }

    fn lex_space(&mut self) -> Item {
        let mut num = 0;
        while let Some(&c) = self.bytes().get(self.pos) {
            if !is_space_byte(c) {
                break;
            }
            self.pos += 1;
            num += 1;
        }
        let b = self.bytes();
        if has_right_trim_marker(&b[self.pos - 1..])
            && b[self.pos - 1 + 2..].starts_with(RIGHT_DELIM.as_bytes())
        {
            self.backup();
            if num == 1 {
                self.state = State::RightDelim;
                // Go returns lexRightDelim directly without emitting a space.
                return self.lex_right_delim();
            }
            // Go emits the spaces but the last one, then the delimiter with its marker.
            self.start = self.pos;
            let mut it = self.at_right_delim_item();
            it.space = true;
            return it;
        }
        self.start = self.pos;
        let mut it = self.lex_action_token();
        it.space = true;
        it
    }

    /// Skips ASCII letters, digits and `_` (the common case of [`is_alnum`]).
    #[inline]
    fn skip_ascii_alnum(&mut self) {
        let b = self.bytes();
        let n = b[self.pos..]
            .iter()
            .position(|&c| !ASCII_WORD[c as usize])
            .unwrap_or(b.len() - self.pos);
        self.pos += n;
    }

    /// Skips letters, digits and `_` (Go's `isAlphaNumeric` runes); returns the character
    /// after them, `None` at the end of the input (where Go's `next` sets `atEOF`).
    #[inline]
    fn scan_alnum(&mut self) -> Option<char> {
        loop {
            self.skip_ascii_alnum();
            if let Some(&b) = self.bytes().get(self.pos)
                && b < 0x80
            {
                return Some(b as char);
            }
            match self.peek_char() {
                None => {
                    self.at_eof = true;
                    return None;
                }
                Some(c) if !c.is_ascii() && is_alnum(c) => self.pos += c.len_utf8(),
                r => return r,
            }
        }
    }

    #[inline(always)]
    fn lex_identifier(&mut self) -> Item {
        if let Some(end) = self.ascii_word_end(self.pos) {
            self.pos = end;
            return self.word_item();
        }
        self.lex_identifier_slow()
    }

    /// [`Lexer::lex_identifier`] past a non-ASCII or bad character.
    #[inline(never)]
    fn lex_identifier_slow(&mut self) -> Item {
        let r = self.scan_alnum();
        if !self.at_terminator() {
            let c = r.unwrap_or('\u{FFFD}');
            return self.error(format!("bad character {}", crate::fmt::sharp_u(c)));
        }
        self.word_item()
    }

    /// The item of the word `input[start..pos]`: a keyword, a boolean or an identifier.
    #[inline(always)]
    fn word_item(&mut self) -> Item {
        let t = word_type(&self.bytes()[self.start..self.pos]);
        self.item(t)
    }

    /// The fast path of a word (field, variable or identifier) of ASCII letters, digits
    /// and `_` from `from`: where it ends, when an ASCII terminator or the end of the input
    /// follows; `None` when the general path must decide (a non-ASCII character or a bad
    /// character follows).
    #[inline(always)]
    fn ascii_word_end(&mut self, from: usize) -> Option<usize> {
        let b = self.bytes();
        let i = ascii_word_run(b, from);
        if i == b.len() {
            // Go's scan reads past the end (`atEOF`).
            self.at_eof = true;
            return Some(i);
        }
        ends_word_at(b, i).then_some(i)
    }

    #[inline(never)]
    fn lex_variable(&mut self) -> Item {
        if self.at_terminator() {
            return self.item(ItemType::Variable);
        }
        self.lex_field_or_variable(ItemType::Variable)
    }

    #[inline(never)]
    fn lex_field_or_variable(&mut self, typ: ItemType) -> Item {
        if self.at_terminator() {
            if typ == ItemType::Variable {
                return self.item(ItemType::Variable);
            }
            return self.item(ItemType::Dot);
        }
        let r = self.scan_alnum();
        if !self.at_terminator() {
            let c = r.unwrap_or('\u{FFFD}');
            return self.error(format!("bad character {}", crate::fmt::sharp_u(c)));
        }
        self.item(typ)
    }

    fn lex_char(&mut self) -> Item {
        loop {
            match self.next_char() {
                Some('\\') => match self.next_char() {
                    Some(c) if c != '\n' => {}
                    _ => return self.error("unterminated character constant".into()),
                },
                None | Some('\n') => return self.error("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.item(ItemType::CharConstant)
    }

    fn lex_number(&mut self) -> Item {
        if !self.scan_number() {
            let s = self.input[self.start..self.pos].to_string();
            return self.error(format!("bad number syntax: {}", crate::fmt::quote(&s)));
        }
        if let Some('+' | '-') = self.peek_char() {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let s = self.input[self.start..self.pos].to_string();
                return self.error(format!("bad number syntax: {}", crate::fmt::quote(&s)));
            }
            return self.item(ItemType::Complex);
        }
        self.item(ItemType::Number)
    }

    fn scan_number(&mut self) -> bool {
        #[derive(PartialEq)]
        enum Base {
            Decimal,
            Hex,
            Octal,
            Binary,
        }
        let sign = |b: u8| b == b'+' || b == b'-';
        let decimal = |b: u8| b.is_ascii_digit() || b == b'_';
        self.accept(sign);
        let mut base = Base::Decimal;
        if self.accept(|b| b == b'0') {
            if self.accept(|b| b == b'x' || b == b'X') {
                base = Base::Hex;
            } else if self.accept(|b| b == b'o' || b == b'O') {
                base = Base::Octal;
            } else if self.accept(|b| b == b'b' || b == b'B') {
                base = Base::Binary;
            }
        }
        let digits = |b: u8| match base {
            Base::Decimal => decimal(b),
            Base::Hex => b.is_ascii_hexdigit() || b == b'_',
            Base::Octal => matches!(b, b'0'..=b'7' | b'_'),
            Base::Binary => matches!(b, b'0' | b'1' | b'_'),
        };
        self.accept_run(digits);
        if self.accept(|b| b == b'.') {
            self.accept_run(digits);
        }
        if base == Base::Decimal && self.accept(|b| b == b'e' || b == b'E') {
            self.accept(sign);
            self.accept_run(decimal);
        }
        if base == Base::Hex && self.accept(|b| b == b'p' || b == b'P') {
            self.accept(sign);
            self.accept_run(decimal);
        }
        self.accept(|b| b == b'i');
        if let Some(c) = self.peek_char()
            && is_alnum(c)
        {
            self.next_char();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> Item {
        // Bytes of multi-byte characters are never `"`, `\\` or a newline.
        let b = self.bytes();
        let mut i = self.pos;
        let mut escapes = false;
        loop {
            let Some(k) = memchr::memchr3(b'"', b'\\', b'\n', &b[i.min(b.len())..]) else {
                return self.error("unterminated quoted string".into());
            };
            i += k;
            match b[i] {
                b'"' => break,
                b'\n' => return self.error("unterminated quoted string".into()),
                _ => match b.get(i + 1) {
                    None | Some(b'\n') => {
                        return self.error("unterminated quoted string".into());
                    }
                    Some(_) => {
                        escapes = true;
                        i += 2;
                    }
                },
            }
        }
        self.pos = i + 1;
        let mut it = self.item(ItemType::String);
        it.escapes = escapes;
        it
    }

    fn lex_raw_quote(&mut self) -> Item {
        // Bytes of multi-byte characters are never a backquote.
        let b = self.bytes();
        let Some(k) = memchr::memchr(b'`', &b[self.pos.min(b.len())..]) else {
            self.pos = b.len();
            self.at_eof = true;
            return self.error("unterminated raw quoted string".into());
        };
        self.pos += k + 1;
        self.item(ItemType::RawString)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_end_where_go_s_scanner_ends_them() {
        for (text, want) in [
            ("1 ", Some("1")),
            ("0x1F|", Some("0x1F")),
            ("0o17)", Some("0o17")),
            ("0b101 ", Some("0b101")),
            ("1_000.5e-3 ", Some("1_000.5e-3")),
            ("0x1p-2 ", Some("0x1p-2")),
            ("1e", Some("1e")),
            ("3i ", Some("3i")),
            ("-7 ", Some("-7")),
            ("1x", None),
            ("0b12", None),
            ("09é", None),
        ] {
            let mut l = Lexer::new(text);
            let ok = l.scan_number();
            let got = ok.then(|| &text[..l.pos]);
            assert_eq!(got, want, "{text:?}");
        }
    }
}
