//! The libyaml event parser (goyaml v2's `parserc.go` semantics): tokens to events.

use std::borrow::Cow;

use crate::scanner::{Mark, RawError, ScalarStyle, Scanner, Stage, Tk, Token, TokenKind};

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind<'a> {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias(&'a str),
    Scalar {
        anchor: Option<&'a str>,
        tag: String,
        value: Cow<'a, str>,
        style: ScalarStyle,
        /// The plain-implicit flag: an untagged plain scalar (or tag `!`).
        implicit: bool,
    },
    SequenceStart {
        anchor: Option<&'a str>,
        tag: String,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<&'a str>,
        tag: String,
    },
    MappingEnd,
}

#[derive(Clone, Debug)]
pub struct Event<'a> {
    pub kind: EventKind<'a>,
    /// Where the event starts (libyaml's `start_mark`; the tree does not keep it).
    #[allow(dead_code)]
    pub start: Mark,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    StreamStart,
    ImplicitDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    BlockNode,
    BlockSequenceFirstEntry,
    BlockSequenceEntry,
    IndentlessSequenceEntry,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingValue,
    FlowSequenceFirstEntry,
    FlowSequenceEntry,
    FlowSequenceEntryMappingKey,
    FlowSequenceEntryMappingValue,
    FlowSequenceEntryMappingEnd,
    FlowMappingFirstKey,
    FlowMappingKey,
    FlowMappingValue,
    FlowMappingEmptyValue,
    End,
}

type R<T> = Result<T, RawError>;

pub struct Parser<'a> {
    scanner: Scanner<'a>,
    state: State,
    states: Vec<State>,
    marks: Vec<Mark>,
    tag_directives: Vec<(String, String)>,
    error: Option<RawError>,
}

fn perr(problem: &str, problem_mark: Mark) -> RawError {
    RawError {
        stage: Stage::Parser,
        problem: problem.to_string(),
        problem_mark,
        context_mark: Mark::default(),
    }
}

fn perr_ctx(context_mark: Mark, problem: &str, problem_mark: Mark) -> RawError {
    RawError {
        stage: Stage::Parser,
        problem: problem.to_string(),
        problem_mark,
        context_mark,
    }
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Parser {
            scanner: Scanner::new(input),
            state: State::StreamStart,
            states: Vec::new(),
            marks: Vec::new(),
            tag_directives: Vec::new(),
            error: None,
        }
    }

    /// The next event. After `StreamEnd` or an error, keeps returning the same.
    pub fn next_event(&mut self) -> R<Event<'a>> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.scanner.stream_end_produced() && self.state == State::End {
            return Ok(Event {
                kind: EventKind::StreamEnd,
                start: Mark::default(),
            });
        }
        let r = self.state_machine();
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }

    fn peek(&mut self) -> R<&Token<'a>> {
        self.scanner.peek()
    }

    /// The next token's kind (without its data) and marks; the data is taken with
    /// [`Parser::take`] when the token is consumed.
    #[inline]
    fn peek_kind(&mut self) -> R<(Tk, Mark, Mark)> {
        let t = self.scanner.peek()?;
        Ok((t.kind.tk(), t.start, t.end))
    }

    /// Consumes the peeked token and returns its kind with its data.
    fn take(&mut self) -> TokenKind<'a> {
        match self.scanner.skip_token() {
            Some(t) => t.kind,
            None => TokenKind::StreamEnd,
        }
    }

    fn skip(&mut self) {
        self.scanner.skip_token();
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::End);
    }

    fn state_machine(&mut self) -> R<Event<'a>> {
        match self.state {
            State::StreamStart => {
                let (k, s, _) = self.peek_kind()?;
                if k != Tk::StreamStart {
                    return Err(perr("did not find expected <stream-start>", s));
                }
                self.state = State::ImplicitDocumentStart;
                self.skip();
                Ok(Event {
                    kind: EventKind::StreamStart,
                    start: s,
                })
            }
            State::ImplicitDocumentStart => self.document_start(true),
            State::DocumentStart => self.document_start(false),
            State::DocumentContent => {
                let (k, s, _) = self.peek_kind()?;
                if matches!(
                    k,
                    Tk::VersionDirective
                        | Tk::TagDirective
                        | Tk::DocumentStart
                        | Tk::DocumentEnd
                        | Tk::StreamEnd
                ) {
                    self.pop_state();
                    return Ok(empty_scalar(s));
                }
                self.parse_node(true, false)
            }
            State::DocumentEnd => {
                let (k, s, _) = self.peek_kind()?;
                if k == Tk::DocumentEnd {
                    self.skip();
                }
                self.tag_directives.clear();
                self.state = State::DocumentStart;
                Ok(Event {
                    kind: EventKind::DocumentEnd,
                    start: s,
                })
            }
            State::BlockNode => self.parse_node(true, false),
            State::BlockSequenceFirstEntry => self.block_sequence_entry(true),
            State::BlockSequenceEntry => self.block_sequence_entry(false),
            State::IndentlessSequenceEntry => self.indentless_sequence_entry(),
            State::BlockMappingFirstKey => self.block_mapping_key(true),
            State::BlockMappingKey => self.block_mapping_key(false),
            State::BlockMappingValue => self.block_mapping_value(),
            State::FlowSequenceFirstEntry => self.flow_sequence_entry(true),
            State::FlowSequenceEntry => self.flow_sequence_entry(false),
            State::FlowSequenceEntryMappingKey => {
                let (k, _, e) = self.peek_kind()?;
                if !matches!(k, Tk::Value | Tk::FlowEntry | Tk::FlowSequenceEnd) {
                    self.states.push(State::FlowSequenceEntryMappingValue);
                    return self.parse_node(false, false);
                }
                self.skip();
                self.state = State::FlowSequenceEntryMappingValue;
                Ok(empty_scalar(e))
            }
            State::FlowSequenceEntryMappingValue => {
                let (k, s, _) = self.peek_kind()?;
                if k == Tk::Value {
                    self.skip();
                    let (k2, s2, _) = self.peek_kind()?;
                    if !matches!(k2, Tk::FlowEntry | Tk::FlowSequenceEnd) {
                        self.states.push(State::FlowSequenceEntryMappingEnd);
                        return self.parse_node(false, false);
                    }
                    let _ = s2;
                    self.state = State::FlowSequenceEntryMappingEnd;
                    return Ok(empty_scalar(s));
                }
                self.state = State::FlowSequenceEntryMappingEnd;
                Ok(empty_scalar(s))
            }
            State::FlowSequenceEntryMappingEnd => {
                let (_, s, _) = self.peek_kind()?;
                self.state = State::FlowSequenceEntry;
                Ok(Event {
                    kind: EventKind::MappingEnd,
                    start: s,
                })
            }
            State::FlowMappingFirstKey => self.flow_mapping_key(true),
            State::FlowMappingKey => self.flow_mapping_key(false),
            State::FlowMappingValue => self.flow_mapping_value(false),
            State::FlowMappingEmptyValue => self.flow_mapping_value(true),
            State::End => Ok(Event {
                kind: EventKind::StreamEnd,
                start: Mark::default(),
            }),
        }
    }

    fn document_start(&mut self, implicit: bool) -> R<Event<'a>> {
        let (mut k, mut s, _) = self.peek_kind()?;
        if !implicit {
            while k == Tk::DocumentEnd {
                self.skip();
                (k, s, _) = self.peek_kind()?;
            }
        }
        if implicit
            && !matches!(
                k,
                Tk::VersionDirective | Tk::TagDirective | Tk::DocumentStart | Tk::StreamEnd
            )
        {
            self.process_directives()?;
            self.states.push(State::DocumentEnd);
            self.state = State::BlockNode;
            Ok(Event {
                kind: EventKind::DocumentStart,
                start: s,
            })
        } else if k != Tk::StreamEnd {
            let start = s;
            self.process_directives()?;
            let (k, s, _) = self.peek_kind()?;
            if k != Tk::DocumentStart {
                return Err(perr("did not find expected <document start>", s));
            }
            self.states.push(State::DocumentEnd);
            self.state = State::DocumentContent;
            self.skip();
            Ok(Event {
                kind: EventKind::DocumentStart,
                start,
            })
        } else {
            self.state = State::End;
            self.skip();
            Ok(Event {
                kind: EventKind::StreamEnd,
                start: s,
            })
        }
    }

    fn process_directives(&mut self) -> R<()> {
        let mut has_version = false;
        loop {
            let (k, s, _) = self.peek_kind()?;
            if !matches!(k, Tk::VersionDirective | Tk::TagDirective) {
                break;
            }
            match self.take() {
                TokenKind::VersionDirective(major, minor) => {
                    if has_version {
                        return Err(perr("found duplicate %YAML directive", s));
                    }
                    if major != 1 || minor != 1 {
                        return Err(perr("found incompatible YAML document", s));
                    }
                    has_version = true;
                }
                TokenKind::TagDirective(handle, prefix) => {
                    if self.tag_directives.iter().any(|(h, _)| *h == handle) {
                        return Err(perr("found duplicate %TAG directive", s));
                    }
                    self.tag_directives.push((handle, prefix));
                }
                _ => break,
            }
        }
        for (h, p) in [("!", "!"), ("!!", "tag:yaml.org,2002:")] {
            if !self.tag_directives.iter().any(|(x, _)| x == h) {
                self.tag_directives.push((h.to_string(), p.to_string()));
            }
        }
        Ok(())
    }

    fn parse_node(&mut self, block: bool, indentless_sequence: bool) -> R<Event<'a>> {
        let (mut k, mut s, _) = self.peek_kind()?;
        if k == Tk::Alias {
            self.pop_state();
            let name = match self.take() {
                TokenKind::Alias(name) => name,
                _ => "",
            };
            return Ok(Event {
                kind: EventKind::Alias(name),
                start: s,
            });
        }
        let start = s;
        let mut anchor = None;
        let mut tag_parts: Option<(String, String, Mark)> = None;
        if k == Tk::Anchor {
            if let TokenKind::Anchor(a) = self.take() {
                anchor = Some(a);
            }
            (k, s, _) = self.peek_kind()?;
            if k == Tk::Tag {
                if let TokenKind::Tag(h, suf) = self.take() {
                    tag_parts = Some((h, suf, s));
                }
                (k, s, _) = self.peek_kind()?;
            }
        } else if k == Tk::Tag {
            if let TokenKind::Tag(h, suf) = self.take() {
                tag_parts = Some((h, suf, s));
            }
            (k, s, _) = self.peek_kind()?;
            if k == Tk::Anchor {
                if let TokenKind::Anchor(a) = self.take() {
                    anchor = Some(a);
                }
                (k, s, _) = self.peek_kind()?;
            }
        }
        let mut tag = String::new();
        if let Some((handle, suffix, tag_mark)) = tag_parts {
            if handle.is_empty() {
                tag = suffix;
            } else {
                match self.tag_directives.iter().find(|(h, _)| *h == handle) {
                    Some((_, prefix)) => {
                        tag = format!("{prefix}{suffix}");
                    }
                    None => return Err(perr_ctx(start, "found undefined tag handle", tag_mark)),
                }
            }
        }
        if indentless_sequence && k == Tk::BlockEntry {
            self.state = State::IndentlessSequenceEntry;
            return Ok(Event {
                kind: EventKind::SequenceStart { anchor, tag },
                start,
            });
        }
        match k {
            Tk::Scalar(style) => {
                let implicit = (tag.is_empty() && style == ScalarStyle::Plain) || tag == "!";
                self.pop_state();
                let value = match self.take() {
                    TokenKind::Scalar(v, _) => v,
                    _ => Cow::Borrowed(""),
                };
                Ok(Event {
                    kind: EventKind::Scalar {
                        anchor,
                        tag,
                        value,
                        style,
                        implicit,
                    },
                    start,
                })
            }
            Tk::FlowSequenceStart => {
                self.state = State::FlowSequenceFirstEntry;
                Ok(Event {
                    kind: EventKind::SequenceStart { anchor, tag },
                    start,
                })
            }
            Tk::FlowMappingStart => {
                self.state = State::FlowMappingFirstKey;
                Ok(Event {
                    kind: EventKind::MappingStart { anchor, tag },
                    start,
                })
            }
            Tk::BlockSequenceStart if block => {
                self.state = State::BlockSequenceFirstEntry;
                Ok(Event {
                    kind: EventKind::SequenceStart { anchor, tag },
                    start,
                })
            }
            Tk::BlockMappingStart if block => {
                self.state = State::BlockMappingFirstKey;
                Ok(Event {
                    kind: EventKind::MappingStart { anchor, tag },
                    start,
                })
            }
            _ if anchor.is_some() || !tag.is_empty() => {
                self.pop_state();
                let implicit = tag.is_empty();
                Ok(Event {
                    kind: EventKind::Scalar {
                        anchor,
                        tag,
                        value: Cow::Borrowed(""),
                        style: ScalarStyle::Plain,
                        implicit,
                    },
                    start,
                })
            }
            _ => Err(perr_ctx(start, "did not find expected node content", s)),
        }
    }

    fn block_sequence_entry(&mut self, first: bool) -> R<Event<'a>> {
        if first {
            let s = self.peek()?.start;
            self.marks.push(s);
            self.skip();
        }
        let (k, s, e) = self.peek_kind()?;
        if k == Tk::BlockEntry {
            let mark = e;
            self.skip();
            let (k2, _, _) = self.peek_kind()?;
            if k2 != Tk::BlockEntry && k2 != Tk::BlockEnd {
                self.states.push(State::BlockSequenceEntry);
                return self.parse_node(true, false);
            }
            self.state = State::BlockSequenceEntry;
            return Ok(empty_scalar(mark));
        }
        if k == Tk::BlockEnd {
            self.pop_state();
            self.marks.pop();
            self.skip();
            return Ok(Event {
                kind: EventKind::SequenceEnd,
                start: s,
            });
        }
        let ctx = self.marks.pop().unwrap_or_default();
        Err(perr_ctx(ctx, "did not find expected '-' indicator", s))
    }

    fn indentless_sequence_entry(&mut self) -> R<Event<'a>> {
        let (k, s, e) = self.peek_kind()?;
        if k == Tk::BlockEntry {
            let mark = e;
            self.skip();
            let (k2, _, _) = self.peek_kind()?;
            if !matches!(k2, Tk::BlockEntry | Tk::Key | Tk::Value | Tk::BlockEnd) {
                self.states.push(State::IndentlessSequenceEntry);
                return self.parse_node(true, false);
            }
            self.state = State::IndentlessSequenceEntry;
            return Ok(empty_scalar(mark));
        }
        self.pop_state();
        Ok(Event {
            kind: EventKind::SequenceEnd,
            start: s,
        })
    }

    fn block_mapping_key(&mut self, first: bool) -> R<Event<'a>> {
        if first {
            let s = self.peek()?.start;
            self.marks.push(s);
            self.skip();
        }
        let (k, s, e) = self.peek_kind()?;
        if k == Tk::Key {
            let mark = e;
            self.skip();
            let (k2, _, _) = self.peek_kind()?;
            if !matches!(k2, Tk::Key | Tk::Value | Tk::BlockEnd) {
                self.states.push(State::BlockMappingValue);
                return self.parse_node(true, true);
            }
            self.state = State::BlockMappingValue;
            return Ok(empty_scalar(mark));
        }
        if k == Tk::BlockEnd {
            self.pop_state();
            self.marks.pop();
            self.skip();
            return Ok(Event {
                kind: EventKind::MappingEnd,
                start: s,
            });
        }
        let ctx = self.marks.pop().unwrap_or_default();
        Err(perr_ctx(ctx, "did not find expected key", s))
    }

    fn block_mapping_value(&mut self) -> R<Event<'a>> {
        let (k, s, e) = self.peek_kind()?;
        if k == Tk::Value {
            let mark = e;
            self.skip();
            let (k2, _, _) = self.peek_kind()?;
            if !matches!(k2, Tk::Key | Tk::Value | Tk::BlockEnd) {
                self.states.push(State::BlockMappingKey);
                return self.parse_node(true, true);
            }
            self.state = State::BlockMappingKey;
            return Ok(empty_scalar(mark));
        }
        self.state = State::BlockMappingKey;
        Ok(empty_scalar(s))
    }

    fn flow_sequence_entry(&mut self, first: bool) -> R<Event<'a>> {
        if first {
            let s = self.peek()?.start;
            self.marks.push(s);
            self.skip();
        }
        let (mut k, mut s, _) = self.peek_kind()?;
        if k != Tk::FlowSequenceEnd {
            if !first {
                if k == Tk::FlowEntry {
                    self.skip();
                    (k, s, _) = self.peek_kind()?;
                } else {
                    let ctx = self.marks.pop().unwrap_or_default();
                    return Err(perr_ctx(ctx, "did not find expected ',' or ']'", s));
                }
            }
            if k == Tk::Key {
                self.state = State::FlowSequenceEntryMappingKey;
                self.skip();
                return Ok(Event {
                    kind: EventKind::MappingStart {
                        anchor: None,
                        tag: String::new(),
                    },
                    start: s,
                });
            } else if k != Tk::FlowSequenceEnd {
                self.states.push(State::FlowSequenceEntry);
                return self.parse_node(false, false);
            }
        }
        self.pop_state();
        self.marks.pop();
        self.skip();
        Ok(Event {
            kind: EventKind::SequenceEnd,
            start: s,
        })
    }

    fn flow_mapping_key(&mut self, first: bool) -> R<Event<'a>> {
        if first {
            let s = self.peek()?.start;
            self.marks.push(s);
            self.skip();
        }
        let (mut k, mut s, _) = self.peek_kind()?;
        if k != Tk::FlowMappingEnd {
            if !first {
                if k == Tk::FlowEntry {
                    self.skip();
                    (k, s, _) = self.peek_kind()?;
                } else {
                    let ctx = self.marks.pop().unwrap_or_default();
                    return Err(perr_ctx(ctx, "did not find expected ',' or '}'", s));
                }
            }
            if k == Tk::Key {
                self.skip();
                let (k2, s2, _) = self.peek_kind()?;
                if !matches!(k2, Tk::Value | Tk::FlowEntry | Tk::FlowMappingEnd) {
                    self.states.push(State::FlowMappingValue);
                    return self.parse_node(false, false);
                }
                self.state = State::FlowMappingValue;
                return Ok(empty_scalar(s2));
            } else if k != Tk::FlowMappingEnd {
                self.states.push(State::FlowMappingEmptyValue);
                return self.parse_node(false, false);
            }
        }
        self.pop_state();
        self.marks.pop();
        self.skip();
        Ok(Event {
            kind: EventKind::MappingEnd,
            start: s,
        })
    }

    fn flow_mapping_value(&mut self, empty: bool) -> R<Event<'a>> {
        let (k, s, _) = self.peek_kind()?;
        if empty {
            self.state = State::FlowMappingKey;
            return Ok(empty_scalar(s));
        }
        if k == Tk::Value {
            self.skip();
            let (k2, s2, _) = self.peek_kind()?;
            if !matches!(k2, Tk::FlowEntry | Tk::FlowMappingEnd) {
                self.states.push(State::FlowMappingKey);
                return self.parse_node(false, false);
            }
            self.state = State::FlowMappingKey;
            return Ok(empty_scalar(s2));
        }
        self.state = State::FlowMappingKey;
        Ok(empty_scalar(s))
    }
}

fn empty_scalar<'a>(mark: Mark) -> Event<'a> {
    Event {
        kind: EventKind::Scalar {
            anchor: None,
            tag: String::new(),
            value: Cow::Borrowed(""),
            style: ScalarStyle::Plain,
            implicit: true,
        },
        start: mark,
    }
}
