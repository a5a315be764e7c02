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
    Space,
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

/// A lexed item. For `Error` items `val` holds the message; otherwise it is the source text.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub typ: ItemType,
    pub pos: usize,
    /// The token's text (shared: the parser looks ahead by copying items).
    pub val: std::rc::Rc<str>,
    pub line: usize,
}

impl Item {
    /// Go's `item.String()`, used in "unexpected X in Y" messages.
    pub(crate) fn describe(&self) -> String {
        match self.typ {
            ItemType::Eof => "EOF".to_string(),
            ItemType::Error => self.val.to_string(),
            t if t.is_keyword() => format!("<{}>", self.val),
            _ => {
                if self.val.len() > 10 {
                    let truncated: String = self.val.chars().take(10).collect();
                    format!("{}...", crate::fmt::quote(&truncated))
                } else {
                    crate::fmt::quote(&self.val)
                }
            }
        }
    }
}

fn keyword(word: &str) -> Option<ItemType> {
    Some(match word {
        "." => ItemType::Dot,
        "block" => ItemType::Block,
        "break" => ItemType::Break,
        "continue" => ItemType::Continue,
        "define" => ItemType::Define,
        "else" => ItemType::Else,
        "end" => ItemType::End,
        "if" => ItemType::If,
        "range" => ItemType::Range,
        "nil" => ItemType::Nil,
        "template" => ItemType::Template,
        "with" => ItemType::With,
        _ => return None,
    })
}

const LEFT_DELIM: &str = "{{";
const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

fn is_space_byte(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r' || b == b'\n'
}

/// The offset of a two-byte delimiter in `hay` (a byte search for its first byte, without
/// the set-up of a substring searcher).
fn find2(hay: &[u8], pat: &[u8]) -> Option<usize> {
    let (a, b) = (pat[0], pat[1]);
    let mut i = 0;
    while let Some(j) = hay[i..].iter().position(|&c| c == a) {
        let k = i + j;
        if hay.get(k + 1) == Some(&b) {
            return Some(k);
        }
        i = k + 1;
    }
    None
}

pub(crate) fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric() && is_go_digit(c)
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

fn has_left_trim_marker(s: &[u8]) -> bool {
    s.len() >= 2 && s[0] == b'-' && is_space_byte(s[1])
}

fn has_right_trim_marker(s: &[u8]) -> bool {
    s.len() >= 2 && is_space_byte(s[0]) && s[1] == b'-'
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
    line_cache: (usize, usize),
    /// Short token texts already allocated (spaces, delimiters, `.`, `$`, `|`, `eq`, …).
    short: Vec<std::rc::Rc<str>>,
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
            line_cache: (0, 1),
            short: Vec::new(),
        }
    }

    /// The shared text of a token, reusing earlier allocations of short texts.
    fn text(&mut self, t: &str) -> std::rc::Rc<str> {
        if t.len() > 3 {
            return std::rc::Rc::from(t);
        }
        if let Some(r) = self.short.iter().find(|r| &***r == t) {
            return r.clone();
        }
        let r: std::rc::Rc<str> = std::rc::Rc::from(t);
        if self.short.len() < 32 {
            self.short.push(r.clone());
        }
        r
    }

    /// Line number (1-based) of a byte offset, with a forward-moving cache.
    pub(crate) fn line_of(&mut self, pos: usize) -> usize {
        let (cpos, cline) = self.line_cache;
        let pos = pos.min(self.input.len());
        let line = if pos >= cpos {
            cline
                + self.input.as_bytes()[cpos..pos]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
        } else {
            1 + self.input.as_bytes()[..pos]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        };
        self.line_cache = (pos, line);
        line
    }

    fn bytes(&self) -> &'a [u8] {
        self.input.as_bytes()
    }

    fn next_char(&mut self) -> Option<char> {
        match self.input[self.pos..].chars().next() {
            Some(c) => {
                self.pos += c.len_utf8();
                Some(c)
            }
            None => {
                self.at_eof = true;
                None
            }
        }
    }

    fn peek_char(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn backup(&mut self) {
        if !self.at_eof && self.pos > 0 {
            let c = self.input[..self.pos]
                .chars()
                .next_back()
                .map_or(1, |c| c.len_utf8());
            self.pos -= c;
        }
    }

    fn item(&mut self, typ: ItemType) -> Item {
        let line = self.line_of(self.start);
        let input = self.input;
        let val = self.text(&input[self.start..self.pos]);
        let it = Item {
            typ,
            pos: self.start,
            val,
            line,
        };
        self.start = self.pos;
        it
    }

    fn error(&mut self, msg: String) -> Item {
        let line = self.line_of(self.start);
        let it = Item {
            typ: ItemType::Error,
            pos: self.start,
            val: msg.into(),
            line,
        };
        self.state = State::Done;
        it
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next_char() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(c) = self.next_char() {
            if !valid.contains(c) {
                self.backup();
                return;
            }
        }
        self.backup();
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

    fn at_terminator(&self) -> bool {
        match self.peek_char() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(_) => self.input[self.pos..].starts_with(RIGHT_DELIM),
        }
    }

    /// The next item. After `Eof` or `Error`, keeps returning `Eof`.
    pub(crate) fn next_item(&mut self) -> Item {
        loop {
            let r = match self.state {
                State::Text => self.lex_text(),
                State::LeftDelim => self.lex_left_delim(),
                State::Comment => self.lex_comment(),
                State::RightDelim => self.lex_right_delim(),
                State::InsideAction => self.lex_inside_action(),
                State::Done => {
                    let line = self.line_of(self.input.len());
                    return Item {
                        typ: ItemType::Eof,
                        pos: self.input.len(),
                        val: "".into(),
                        line,
                    };
                }
            };
            if let Some(it) = r {
                return it;
            }
        }
    }

    fn lex_text(&mut self) -> Option<Item> {
        if let Some(x) = find2(&self.bytes()[self.pos..], LEFT_DELIM.as_bytes()) {
            if x > 0 {
                self.pos += x;
                let mut trim = 0;
                let delim_end = self.pos + LEFT_DELIM.len();
                if has_left_trim_marker(&self.bytes()[delim_end..]) {
                    let s = &self.input[self.start..self.pos];
                    trim = s.len() - s.trim_end_matches(is_space).len();
                }
                self.pos -= trim;
                let it = self.item(ItemType::Text);
                self.pos += trim;
                self.start = self.pos;
                self.state = State::LeftDelim;
                if !it.val.is_empty() {
                    return Some(it);
                }
                return None;
            }
            self.state = State::LeftDelim;
            return None;
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
            self.pos += s.len() - s.trim_start_matches(is_space).len();
        }
        self.start = self.pos;
        self.state = State::Text;
        None
    }

    fn lex_right_delim(&mut self) -> Option<Item> {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.start = self.pos;
        }
        self.pos += RIGHT_DELIM.len();
        let it = self.item(ItemType::RightDelim);
        if trim {
            let s = &self.input[self.pos..];
            self.pos += s.len() - s.trim_start_matches(is_space).len();
            self.start = self.pos;
        }
        self.state = State::Text;
        Some(it)
    }

    fn lex_inside_action(&mut self) -> Option<Item> {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                self.state = State::RightDelim;
                return None;
            }
            return Some(self.error("unclosed left paren".into()));
        }
        let Some(r) = self.next_char() else {
            return Some(self.error("unclosed action".into()));
        };
        match r {
            c if is_space(c) => {
                self.backup();
                Some(self.lex_space())
            }
            '=' => Some(self.item(ItemType::Assign)),
            ':' => {
                if self.next_char() != Some('=') {
                    return Some(self.error("expected :=".into()));
                }
                Some(self.item(ItemType::Declare))
            }
            '|' => Some(self.item(ItemType::Pipe)),
            '"' => Some(self.lex_quote()),
            '`' => Some(self.lex_raw_quote()),
            '$' => Some(self.lex_variable()),
            '\'' => Some(self.lex_char()),
            '.' => {
                if let Some(&b) = self.bytes().get(self.pos)
                    && !b.is_ascii_digit()
                {
                    return Some(self.lex_field_or_variable(ItemType::Field));
                }
                self.backup();
                Some(self.lex_number())
            }
            '+' | '-' | '0'..='9' => {
                self.backup();
                Some(self.lex_number())
            }
            c if is_alnum(c) => {
                self.backup();
                Some(self.lex_identifier())
            }
            '(' => {
                self.paren_depth += 1;
                Some(self.item(ItemType::LeftParen))
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return Some(self.error("unexpected right paren".into()));
                }
                Some(self.item(ItemType::RightParen))
            }
            c if c.is_ascii() && !c.is_ascii_control() => Some(self.item(ItemType::Char)),
            c => Some(self.error(format!(
                "unrecognized character in action: {}",
                crate::fmt::sharp_u(c)
            ))),
        }
    }

    fn lex_space(&mut self) -> Item {
        let mut num = 0;
        while let Some(c) = self.peek_char() {
            if !is_space(c) {
                break;
            }
            self.next_char();
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
                return self.lex_right_delim().unwrap_or_else(|| self.next_item());
            }
        }
        self.item(ItemType::Space)
    }

    /// Skips ASCII letters, digits and `_` (the common case of [`is_alnum`]).
    fn skip_ascii_alnum(&mut self) {
        let b = self.bytes();
        while let Some(&c) = b.get(self.pos) {
            if c.is_ascii_alphanumeric() || c == b'_' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn lex_identifier(&mut self) -> Item {
        self.skip_ascii_alnum();
        loop {
            match self.next_char() {
                Some(c) if is_alnum(c) => {}
                r => {
                    self.backup();
                    let word = &self.input[self.start..self.pos];
                    if !self.at_terminator() {
                        let c = r.unwrap_or('\u{FFFD}');
                        return self.error(format!("bad character {}", crate::fmt::sharp_u(c)));
                    }
                    if let Some(k) = keyword(word) {
                        return self.item(k);
                    }
                    if word == "true" || word == "false" {
                        return self.item(ItemType::Bool);
                    }
                    return self.item(ItemType::Identifier);
                }
            }
        }
    }

    fn lex_variable(&mut self) -> Item {
        if self.at_terminator() {
            return self.item(ItemType::Variable);
        }
        self.lex_field_or_variable(ItemType::Variable)
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) -> Item {
        if self.at_terminator() {
            if typ == ItemType::Variable {
                return self.item(ItemType::Variable);
            }
            return self.item(ItemType::Dot);
        }
        let mut r;
        self.skip_ascii_alnum();
        loop {
            r = self.next_char();
            match r {
                Some(c) if is_alnum(c) => {}
                _ => {
                    self.backup();
                    break;
                }
            }
        }
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
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek_char()
            && is_alnum(c)
        {
            self.next_char();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> Item {
        loop {
            match self.next_char() {
                Some('\\') => match self.next_char() {
                    Some(c) if c != '\n' => {}
                    _ => return self.error("unterminated quoted string".into()),
                },
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.item(ItemType::String)
    }

    fn lex_raw_quote(&mut self) -> Item {
        loop {
            match self.next_char() {
                None => return self.error("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.item(ItemType::RawString)
    }
}
