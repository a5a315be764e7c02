//! Template errors. `Display` is exactly Go's text; the fields keep the parts apart so that a
//! caller (Helm's renderer) can re-format them.

use crate::value::FuncErrorKind;

/// What failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Parsing: `template: NAME:LINE: MSG`.
    Parse,
    /// Execution: `template: NAME:LINE:COL: executing "TMPL" at <NODE>: MSG`, or
    /// `template: TMPL: MSG` when no node is known.
    Exec,
    /// A template lookup by name failed: `template: MSG`
    /// (`no template "x" associated with template "gotpl"`).
    Lookup,
}

/// A function error inside an execution error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncFailure {
    /// The function (or method) name.
    pub name: String,
    /// How it is reported.
    pub kind: FuncErrorKind,
    /// The function's own message (without `error calling NAME: `).
    pub message: String,
}

/// A parse or execution error. Its fields are those of [`ErrorInfo`] (reached through
/// `Deref`: `err.line`, `err.message`, …); `Display` is Go's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.render())]
pub struct Error(Box<ErrorInfo>);

impl std::ops::Deref for Error {
    type Target = ErrorInfo;
    fn deref(&self) -> &ErrorInfo {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorInfo {
        &mut self.0
    }
}

impl From<ErrorInfo> for Error {
    fn from(i: ErrorInfo) -> Self {
        Error(Box::new(i))
    }
}

/// The parts of an [`Error`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Parse, exec or lookup.
    pub kind: ErrorKind,
    /// For exec errors: the name of the template being executed (`executing "NAME"`).
    /// For parse errors: the file being parsed.
    pub name: String,
    /// The file the node was parsed from (Go's `ParseName`); for parse errors the same as
    /// `name`.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 0-based byte column as Go prints it (exec errors with a node only).
    pub col: Option<usize>,
    /// Go's `String()` of the node being executed.
    pub node: Option<String>,
    /// The message after the location (for function errors: `error calling NAME: MSG`).
    pub message: String,
    /// For errors returned by a function: which one, and how it wants to be reported.
    pub func: Option<FuncFailure>,
}

impl Error {
    pub(crate) fn parse(file: &str, line: usize, message: String) -> Self {
        Error::from(ErrorInfo {
            kind: ErrorKind::Parse,
            name: file.to_string(),
            file: file.to_string(),
            line,
            col: None,
            node: None,
            message,
            func: None,
        })
    }

    pub(crate) fn lookup(message: String) -> Self {
        Error::from(ErrorInfo {
            kind: ErrorKind::Lookup,
            name: String::new(),
            file: String::new(),
            line: 0,
            col: None,
            node: None,
            message,
            func: None,
        })
    }
}

impl ErrorInfo {
    fn render(&self) -> String {
        match self.kind {
            ErrorKind::Parse => format!("template: {}:{}: {}", self.file, self.line, self.message),
            ErrorKind::Lookup => format!("template: {}", self.message),
            ErrorKind::Exec => match (&self.node, self.col) {
                (Some(node), Some(col)) => format!(
                    "template: {}:{}:{}: executing {} at <{}>: {}",
                    self.file,
                    self.line,
                    col,
                    crate::fmt::quote(&self.name),
                    node,
                    self.message
                ),
                _ => format!("template: {}: {}", self.name, self.message),
            },
        }
    }

    /// The `FILE:LINE:COL` location Go prints for an exec error (`FILE:LINE` for parse errors).
    pub fn location(&self) -> String {
        match self.col {
            Some(c) => format!("{}:{}:{}", self.file, self.line, c),
            None => format!("{}:{}", self.file, self.line),
        }
    }
}
