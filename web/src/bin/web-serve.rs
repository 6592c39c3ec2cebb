//! `web-serve DIR [--port N]`: serves a site `tools/web` built, on 127.0.0.1 only.

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: web-serve DIR [--port N] (DIR: a site written by tools/web)";
    let Some(dir) = args.next() else {
        eprintln!("{usage}");
        std::process::exit(2)
    };
    let port = match (args.next().as_deref(), args.next()) {
        (None, _) => 8000,
        (Some("--port"), Some(p)) => p.parse().unwrap_or_else(|_| {
            eprintln!("--port takes a number from 0 to 65535, not {p:?}");
            std::process::exit(2)
        }),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2)
        }
    };
    let dir = std::path::PathBuf::from(dir);
    if !dir.join("index.html").is_file() {
        eprintln!("{} holds no index.html: build the site first with `tools/web {}`", dir.display(), dir.display());
        std::process::exit(1)
    }
    match web::serve::Server::start(&dir, port) {
        Ok(server) => {
            println!("serving {} at {} (Ctrl-C stops)", dir.display(), server.url());
            server.wait()
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}
