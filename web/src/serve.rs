//! Serves a built site (`tools/web DIR --serve`) on the loopback interface, with `tiny_http`:
//! static files only, `GET` and `HEAD`, nothing outside the site's folder.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// A running server: its address, and the thread answering requests.
pub struct Server {
    server: Arc<tiny_http::Server>,
    pub addr: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Server {
    /// Serves `dir` on `127.0.0.1:port` (port 0: any free port).
    pub fn start(dir: &Path, port: u16) -> Result<Self, String> {
        let server = tiny_http::Server::http(("127.0.0.1", port))
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}; pick another port with --port"))?;
        let addr = server.server_addr().to_ip().ok_or("the server has no IP address")?;
        let server = Arc::new(server);
        let (dir, srv) = (dir.to_path_buf(), Arc::clone(&server));
        let thread = std::thread::spawn(move || {
            for request in srv.incoming_requests() {
                let response = respond(&dir, request.method(), request.url());
                let _ = request.respond(response);
            }
        });
        Ok(Self { server, addr, thread: Some(thread) })
    }

    /// The site's address, e.g. `http://127.0.0.1:8000/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Blocks while the server runs (until the process is stopped).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn respond(dir: &Path, method: &tiny_http::Method, url: &str) -> Response {
    use tiny_http::Method;
    if !matches!(method, Method::Get | Method::Head) {
        return text(405, "only GET and HEAD");
    }
    let Some(path) = file_path(dir, url) else { return text(404, "not found") };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let mut response = tiny_http::Response::from_data(bytes);
            let kind = content_type(&path);
            if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", kind) {
                response.add_header(h);
            }
            // The page is a tool being edited: never serve a stale .wasm or model.
            if let Ok(h) = tiny_http::Header::from_bytes("Cache-Control", "no-store") {
                response.add_header(h);
            }
            response
        }
        Err(_) => text(404, "not found"),
    }
}

fn text(status: u16, body: &str) -> Response {
    tiny_http::Response::from_data(body.as_bytes().to_vec()).with_status_code(status)
}

/// The file a URL names inside `dir` (`/` is `index.html`), or `None` for anything that
/// would leave it (`..`, absolute parts).
fn file_path(dir: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') { format!("{path}index.html") } else { path.to_string() };
    let rel = Path::new(&path);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(dir.join(rel))
}

/// The Content-Type of a site file; `application/wasm` lets the page compile while it loads.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::file_path;
    use std::path::Path;

    #[test]
    fn urls_stay_inside_the_site() {
        let d = Path::new("/site");
        assert_eq!(file_path(d, "/"), Some(d.join("index.html")));
        assert_eq!(file_path(d, "/?model=tiny&seed=4"), Some(d.join("index.html")));
        assert_eq!(file_path(d, "/models/tiny.mkmr"), Some(d.join("models/tiny.mkmr")));
        assert_eq!(file_path(d, "/../etc/passwd"), None);
        assert_eq!(file_path(d, "/models/../../x"), None);
        assert_eq!(file_path(d, "//etc/passwd"), Some(d.join("etc/passwd")));
    }
}
