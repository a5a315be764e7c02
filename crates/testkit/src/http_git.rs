//! A tiny HTTP/1.1 server on loopback that runs `git http-backend` as a CGI program: a real
//! smart-HTTP git server for tests. Every repository under the root is exported; with
//! credentials, every request needs them (HTTP Basic) and gets `401` with a
//! `WWW-Authenticate: Basic` challenge otherwise, as a forge answers.
//!
//! Pushing needs `http.receivepack` enabled in the served repository
//! (`git config http.receivepack true`); with authentication the CGI sees `REMOTE_USER`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use base64::Engine;

/// A running server; stops when dropped.
pub struct GitHttpServer {
    port: u16,
    stop: Arc<AtomicBool>,
    /// Requests answered so far (refused ones included).
    pub requests: Arc<AtomicUsize>,
    /// Requests refused for bad or missing credentials.
    pub unauthorized: Arc<AtomicUsize>,
}

/// What the server needs per connection.
struct Shared {
    root: std::path::PathBuf,
    /// `Basic <base64(user:password)>` and the user, when authentication is required.
    auth: Option<(String, String)>,
    requests: Arc<AtomicUsize>,
    unauthorized: Arc<AtomicUsize>,
}

impl GitHttpServer {
    /// Serves the repositories under `root` to `user`:`password` only (HTTP Basic).
    ///
    /// Panics when no loopback port can be bound (a test environment failure).
    pub fn start(root: &Path, user: &str, password: &str) -> GitHttpServer {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        Self::serve(root, Some((expected, user.to_string())))
    }

    /// Serves the repositories under `root` to anyone (no authentication).
    ///
    /// Panics when no loopback port can be bound (a test environment failure).
    pub fn open(root: &Path) -> GitHttpServer {
        Self::serve(root, None)
    }

    fn serve(root: &Path, auth: Option<(String, String)>) -> GitHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let unauthorized = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            auth,
            requests: requests.clone(),
            unauthorized: unauthorized.clone(),
        });
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, &shared);
                });
            }
        });
        GitHttpServer {
            port,
            stop,
            requests,
            unauthorized,
        }
    }

    /// `http://127.0.0.1:PORT/<repo>`.
    pub fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}", self.port)
    }

    /// `http://USER:PASSWORD@127.0.0.1:PORT/<repo>` (credentials in the URL, as GitLab CI's
    /// `CI_REPOSITORY_URL`); `user` and `password` must be URL-safe.
    pub fn url_with_credentials(&self, repo: &str, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@127.0.0.1:{}/{repo}", self.port)
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn handle(conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if let Some((expected, _)) = &shared.auth
        && header("authorization").as_deref() != Some(expected.as_str())
    {
        shared.unauthorized.fetch_add(1, Ordering::SeqCst);
        let body = "authentication required\n";
        write!(
            out,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        return Ok(());
    }
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                let mut crlf = String::new();
                reader.read_line(&mut crlf)?;
                break;
            }
            let mut chunk = vec![0; n];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some((_, user)) = &shared.auth {
        cmd.env("REMOTE_USER", user);
    }
    if let Some(p) = header("git-protocol") {
        cmd.env("HTTP_GIT_PROTOCOL", p);
    }
    if let Some(e) = header("content-encoding") {
        cmd.env("HTTP_CONTENT_ENCODING", e);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("git http-backend: no stdin"))?;
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut cgi = Vec::new();
    child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("git http-backend: no stdout"))?
        .read_to_end(&mut cgi)?;
    let _ = writer.join();
    let _ = child.wait();
    // Split the CGI headers from the body.
    let (head, rest) = match find(&cgi, b"\r\n\r\n") {
        Some(i) => (&cgi[..i], &cgi[i + 4..]),
        None => match find(&cgi, b"\n\n") {
            Some(i) => (&cgi[..i], &cgi[i + 2..]),
            None => (&cgi[..0], &cgi[..]),
        },
    };
    let head = String::from_utf8_lossy(head);
    let mut status = "200 OK".to_string();
    let mut resp = Vec::new();
    for h in head.lines() {
        if let Some(s) = h.strip_prefix("Status:") {
            status = s.trim().to_string();
        } else if !h.is_empty() {
            resp.extend_from_slice(h.as_bytes());
            resp.extend_from_slice(b"\r\n");
        }
    }
    write!(out, "HTTP/1.1 {status}\r\n")?;
    out.write_all(&resp)?;
    write!(
        out,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        rest.len()
    )?;
    out.write_all(rest)?;
    out.flush()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> std::process::Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .output()
            .expect("git on PATH")
    }

    fn served_repo() -> tempfile_dir::Dir {
        let d = tempfile_dir::Dir::new();
        let work = d.0.join("work");
        std::fs::create_dir_all(&work).unwrap();
        assert!(git(&work, &["init", "-q", "-b", "main"]).status.success());
        std::fs::write(work.join("f.txt"), "hello\n").unwrap();
        assert!(git(&work, &["add", "."]).status.success());
        assert!(git(&work, &["commit", "-q", "-m", "c"]).status.success());
        let bare = d.0.join("served/r.git");
        assert!(
            git(
                &d.0,
                &["clone", "-q", "--bare", "work", bare.to_str().unwrap()]
            )
            .status
            .success()
        );
        d
    }

    /// A directory under the system temporary directory, removed on drop (no dependency).
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let p = std::env::temp_dir().join(format!(
                    "testkit-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn open_server_clones() {
        let d = served_repo();
        let server = GitHttpServer::open(&d.0.join("served"));
        let out = git(&d.0, &["clone", "-q", &server.url("r.git"), "c1"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(d.0.join("c1/f.txt")).unwrap(),
            "hello\n"
        );
        assert_eq!(server.unauthorized.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn basic_auth_is_required_and_checked() {
        let d = served_repo();
        let server = GitHttpServer::start(&d.0.join("served"), "ci", "tok-1");
        let out = git(&d.0, &["clone", "-q", &server.url("r.git"), "c1"]);
        assert!(!out.status.success());
        let out = git(
            &d.0,
            &[
                "clone",
                "-q",
                &server.url_with_credentials("r.git", "ci", "wrong"),
                "c2",
            ],
        );
        assert!(!out.status.success());
        let out = git(
            &d.0,
            &[
                "clone",
                "-q",
                &server.url_with_credentials("r.git", "ci", "tok-1"),
                "c3",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(server.unauthorized.load(Ordering::SeqCst) >= 2);
    }
}
