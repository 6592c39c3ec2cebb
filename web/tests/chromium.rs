//! The playground in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol, on the site `tools/web` built. The page's names must be `trainer sample`'s, its
//! chart the runtime's distribution on the host, and a bad file must not break it.
//!
//! Ignored by a plain `cargo test` (it needs the built site, Chromium and the trainer binary);
//! `tools/test` builds the site and runs it:
//! `tools/web target/site && cargo test -p web --test chromium -- --ignored`.
//! Settings: `PLAYGROUND_SITE` (default `target/site`), `CHROMIUM` (default
//! `/usr/bin/chromium`), `TRAINER` (default `target/debug/trainer`), and
//! `PLAYGROUND_SCREENSHOT=FILE.png` to keep a picture of the page, `PLAYGROUND_NAMES=FILE`
//! to keep the page's names for the firmware's model and seed 42 (one per line).

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use web::serve::Server;
use web::Playground;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from)
}

fn site() -> PathBuf {
    let site = std::env::var_os("PLAYGROUND_SITE").map_or_else(|| target_dir().join("site"), PathBuf::from);
    assert!(
        site.join("index.html").is_file(),
        "no site in {}: build it with `tools/web {}`",
        site.display(),
        site.display()
    );
    site
}

/// The site served on a free port, and Chromium with one tab.
struct Page {
    server: Server,
    _browser: Browser,
    tab: Arc<Tab>,
}

impl Page {
    fn open() -> Self {
        let server = Server::start(&site(), 0).unwrap();
        let chromium = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
        let options = LaunchOptions::default_builder()
            .path(Some(chromium))
            .headless(true)
            .sandbox(false) // root in a container has no user namespaces for the sandbox
            .window_size(Some((1400, 860)))
            .idle_browser_timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let browser = Browser::new(options).unwrap();
        let tab = browser.new_tab().unwrap();
        Self { server, _browser: browser, tab }
    }

    /// Opens the page with these URL settings and waits for its first full drawing.
    fn goto(&self, query: &str) {
        self.tab.navigate_to(&format!("{}?{query}", self.server.url())).unwrap();
        self.tab.wait_until_navigated().unwrap();
        self.wait_for_update(0);
    }

    fn eval(&self, js: &str) -> serde_json::Value {
        let object = self.tab.evaluate(js, true).unwrap();
        object.value.unwrap_or(serde_json::Value::Null)
    }

    fn updates(&self) -> u64 {
        self.eval("Number(document.body.dataset.updates)").as_u64().unwrap_or(0)
    }

    /// Waits until the page has redrawn more than `seen` times.
    fn wait_for_update(&self, seen: u64) {
        let start = Instant::now();
        while self.updates() <= seen {
            let state = self.eval("document.body.dataset.ready || ''");
            assert_ne!(state, "failed", "the page did not start: {}", self.text("error"));
            assert!(start.elapsed() < Duration::from_secs(30), "the page did not redraw in 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn names(&self) -> Vec<String> {
        let names =
            self.eval("JSON.stringify(Array.from(document.querySelectorAll('#names li'), li => li.dataset.name))");
        serde_json::from_str(names.as_str().unwrap()).unwrap()
    }

    fn text(&self, id: &str) -> String {
        let js = format!("(e => e.hidden ? '' : e.textContent)(document.getElementById('{id}'))");
        self.eval(&js).as_str().unwrap_or_default().to_string()
    }

    /// Drops a file holding `js_bytes` (a JavaScript expression for a Uint8Array, may await)
    /// on the drop zone, as a user dragging it from their desktop, and waits for the redraw.
    fn drop_file(&self, name: &str, js_bytes: &str) {
        let seen = self.updates();
        self.eval(&format!(
            "(async () => {{
                const bytes = {js_bytes};
                const data = new DataTransfer();
                data.items.add(new File([bytes], '{name}'));
                document.getElementById('drop').dispatchEvent(
                    new DragEvent('drop', {{ dataTransfer: data, bubbles: true, cancelable: true }}));
                return true;
            }})()"
        ));
        self.wait_for_update(seen);
    }
}

/// `trainer sample`'s names for a file and settings.
fn trainer_sample(file: &Path, args: &[&str]) -> Vec<String> {
    let trainer = std::env::var_os("TRAINER").map_or_else(|| target_dir().join("debug/trainer"), PathBuf::from);
    let out =
        Command::new(&trainer).arg("sample").arg("--file").arg(file).args(args).output().unwrap_or_else(|e| {
            panic!("cannot run {} ({e}): build it with `cargo build -p trainer`", trainer.display())
        });
    assert!(out.status.success(), "trainer sample failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

#[test]
#[ignore = "needs Chromium and the site: tools/test runs it"]
fn the_page_prints_the_names_trainer_sample_prints() {
    let page = Page::open();
    // The default model is the very file the firmware embeds.
    let default = site().join("models/default.mkmr");
    let firmware = std::fs::read(workspace().join("firmware/models/names-mlp-int8.mkmr")).unwrap();
    assert_eq!(std::fs::read(&default).unwrap(), firmware);
    let cases: [(&str, &str, &[&str]); 5] = [
        ("default", "seed=42&n=20&temperature=1&top_k=0&prefix=", &["--seed", "42", "-n", "20"]),
        (
            "default",
            "seed=42&n=20&temperature=0.8&top_k=5&prefix=ka",
            &["--seed", "42", "-n", "20", "--temperature", "0.8", "--top-k", "5", "--prefix", "ka"],
        ),
        ("default", "seed=42&n=20&temperature=0&top_k=0&prefix=", &["--seed", "42", "-n", "20", "--temperature", "0"]),
        ("tiny", "seed=7&n=300&temperature=1.5&top_k=0&prefix=", &["--seed", "7", "-n", "300", "--temperature", "1.5"]),
        (
            "bigram",
            "seed=3&n=50&temperature=1&top_k=3&prefix=m",
            &["--seed", "3", "-n", "50", "--top-k", "3", "--prefix", "m"],
        ),
    ];
    for (i, (model, query, args)) in cases.into_iter().enumerate() {
        page.goto(&format!("model={model}&{query}"));
        let got = page.names();
        if let (0, Some(path)) = (i, std::env::var_os("PLAYGROUND_NAMES")) {
            // The firmware's file and seed: tools/test compares these with the boards' names.
            std::fs::write(path, got.join("\n") + "\n").unwrap();
        }
        let want = trainer_sample(&site().join(format!("models/{model}.mkmr")), args);
        assert_eq!(got.len(), want.len(), "{model} {query}");
        assert_eq!(got, want, "{model} {query}");
        // The settings stay in the address bar, so the link reproduces the list.
        let url = page.eval("location.search");
        assert!(url.as_str().unwrap().contains(&format!("model={model}")), "{url}");
    }
    if let Some(path) = std::env::var_os("PLAYGROUND_SCREENSHOT") {
        page.goto("model=default&seed=42&n=24&temperature=0.8&top_k=0&prefix=ka");
        let png = page.tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true).unwrap();
        std::fs::write(&path, png).unwrap();
    }
}

#[test]
#[ignore = "needs Chromium and the site: tools/test runs it"]
fn a_damaged_file_shows_the_decoders_message_and_the_next_good_file_works() {
    let page = Page::open();
    page.goto("model=default&seed=42&n=20&temperature=1&top_k=0&prefix=");
    let before = page.names();
    assert_eq!(page.text("error"), "");

    // One byte flipped inside the tiny model: the CRC catches it.
    page.drop_file(
        "damaged.mkmr",
        "await fetch('models/tiny.mkmr').then(r => r.arrayBuffer()).then(b => { const u = new Uint8Array(b); u[200] ^= 0x40; return u; })",
    );
    let error = page.text("error");
    assert!(error.starts_with("damaged.mkmr: not a model this page can run:"), "{error}");
    assert!(error.contains("CRC"), "{error}");
    // Nothing lost: the model loaded before still makes its names.
    assert_eq!(page.names(), before);

    // Something else entirely (the page's own HTML), then an empty file.
    page.drop_file("index.html", "new TextEncoder().encode(document.documentElement.outerHTML)");
    assert!(page.text("error").contains("not a makemore model file"), "{}", page.text("error"));
    page.drop_file("empty.mkmr", "new Uint8Array(0)");
    assert!(page.text("error").contains("truncated"), "{}", page.text("error"));

    // A file far too large for a model is refused before it is read.
    page.drop_file("huge.mkmr", "new Uint8Array(65 * 1024 * 1024)");
    assert!(page.text("error").contains("too large for a model file"), "{}", page.text("error"));
    assert_eq!(page.names(), before);

    // The next good file loads: no error, its card, its names.
    page.drop_file("tiny.mkmr", "new Uint8Array(await fetch('models/tiny.mkmr').then(r => r.arrayBuffer()))");
    assert_eq!(page.text("error"), "");
    assert_eq!(page.names(), trainer_sample(&site().join("models/tiny.mkmr"), &["--seed", "42", "-n", "20"]));
    let card = page.text("card");
    let size = std::fs::metadata(site().join("models/tiny.mkmr")).unwrap().len();
    let grouped = format!("{},{:03} bytes", size / 1000, size % 1000); // 1,000..999,999
    assert!(card.contains(&grouped), "{grouped} not in {card}");
    assert!(card.contains("mlp, int8"), "{card}");
    assert!(page.eval("document.getElementById('model').value").as_str().unwrap().starts_with("file:"));
}

#[test]
#[ignore = "needs Chromium and the site: tools/test runs it"]
fn bad_settings_say_what_is_wrong() {
    let page = Page::open();
    for (query, says) in [
        ("temperature=hot", "temperature \"hot\": a temperature is a decimal"),
        ("temperature=101", "temperature \"101\""),
        ("prefix=k%23", "'#' is not in the model's vocabulary"),
        ("n=0", "n: a whole number from 1 to 10000"),
        ("seed=-1", "seed: a whole number"),
        ("model=nonesuch", "no shipped model is called \"nonesuch\""),
    ] {
        page.goto(query);
        let shown = format!("{} {}", page.text("settings-error"), page.text("error"));
        assert!(shown.contains(says), "{query}: {shown:?}");
    }
}

#[test]
#[ignore = "needs Chromium and the site: tools/test runs it"]
fn the_chart_is_the_runtimes_distribution_on_the_host() {
    let page = Page::open();
    let bytes = std::fs::read(site().join("models/default.mkmr")).unwrap();
    let mut host = Playground::new();
    host.load(bytes).unwrap();
    for (milli, top_k, prefix) in [(1000, 0, ""), (800, 5, "ka"), (2000, 0, "emm"), (0, 0, "jo")] {
        let t = format!("{}.{:03}", milli / 1000, milli % 1000);
        page.goto(&format!("model=default&seed=1&n=5&temperature={t}&top_k={top_k}&prefix={prefix}"));
        let bars = page.eval("JSON.stringify(Array.from(document.querySelectorAll('#chart .bar'), b => [b.dataset.symbol, b.dataset.p]))");
        let bars: Vec<(String, String)> = serde_json::from_str(bars.as_str().unwrap()).unwrap();
        let probs: Vec<f64> = bars.iter().map(|(_, p)| p.parse().unwrap()).collect();
        let sum: f64 = probs.iter().sum();
        assert!((sum - 1.0).abs() < 1e-9, "T {t} top-k {top_k} {prefix:?}: the bars sum to {sum}");
        // Bit for bit what the runtime computes on the host (a JavaScript number prints its
        // f64 exactly).
        let want = host.distribution(&web::config(milli, top_k), prefix).unwrap();
        assert_eq!(probs, want, "T {t} top-k {top_k} {prefix:?}");
        let symbols: String = bars.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(symbols, ".abcdefghijklmnopqrstuvwxyz");
        if top_k > 0 {
            assert_eq!(probs.iter().filter(|&&p| p > 0.0).count(), top_k as usize);
        }
        assert_eq!(page.text("chart-text"), prefix);
    }
}

#[test]
#[ignore = "needs Chromium and the site: tools/test runs it"]
fn the_page_measures_its_speed() {
    let page = Page::open();
    page.goto("model=default&seed=42&n=20&temperature=1&top_k=0&prefix=");
    page.eval("document.getElementById('bench').click(), true");
    let start = Instant::now();
    let rate = loop {
        let rate = page.eval("document.getElementById('speed').dataset.namesPerSecond || ''");
        if let Some(r) = rate.as_str().and_then(|r| r.parse::<u64>().ok()) {
            break r;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no speed after 120 s: {}", page.text("settings-error"));
        std::thread::sleep(Duration::from_millis(100));
    };
    // A figure, not a pass mark (these machines are noisy): BENCHMARKS.md records it.
    println!("playground speed in Chromium, default model: {rate} names/s ({})", page.text("speed"));
    assert!(rate > 0);
}
