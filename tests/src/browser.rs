//! Headless Chromium for the browser tests (decision 0027): Debian's `chromium` driven through
//! its `chromedriver` with fantoccini. `scripts/setup.sh` installs both, and axe-core (pinned in
//! `tests/browser/package-lock.json`) for the accessibility checks.
//!
//! ```ignore
//! let Some(browser) = Browser::start(true).await else { return }; // SKIPPED outside CI
//! browser.goto(&app.url("/docs")).await;
//! browser.wait_until("document.querySelectorAll('.opblock').length > 100", WAIT).await;
//! assert!(browser.axe_violations().await.is_empty());
//! browser.close().await;
//! ```
//!
//! An offline browser reaches loopback hosts only: every other request goes to a proxy at
//! `127.0.0.1:9` that nothing listens on (discard port), with Chromium's implicit bypass list
//! (which also lets link-local addresses through) replaced by loopback alone, and every host
//! name but `localhost` fails to resolve. A page that needs a CDN, a web font or any other host
//! fails to load those parts, as it would on a machine without internet access.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A reasonable bound for a page to render in a test.
pub const WAIT: Duration = Duration::from_secs(30);

/// axe-core's browser build, installed by `scripts/setup.sh` (`npm ci --prefix tests/browser`).
pub fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/node_modules/axe-core/axe.min.js")
}

/// A headless Chromium session and the chromedriver serving it (killed on drop).
pub struct Browser {
    client: fantoccini::Client,
    /// Declared after `client`: dropped last.
    _driver: DriverGuard,
    pub offline: bool,
}

/// Chromium's command-line switches for a headless test session.
fn chromium_args(profile: &Path, offline: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1024",
        "--no-first-run",
        "--no-default-browser-check",
        // No traffic of the browser's own (updates, sync, safe browsing lists, metrics).
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--metrics-recording-only",
        "--lang=en-US",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    if offline {
        args.extend(
            [
                // Everything not bypassed goes to a proxy that refuses connections...
                "--proxy-server=http://127.0.0.1:9",
                // ... and only loopback is bypassed: `<-loopback>` removes the implicit list
                // (localhost, 127/8, [::1], and link-local 169.254/16 and fe80::/10).
                "--proxy-bypass-list=<-loopback>;localhost;*.localhost;127.0.0.1/8;[::1]",
                // No name or address resolves but localhost and 127.0.0.1 (a second fence).
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
            ]
            .map(String::from),
        );
    }
    args
}

/// A free TCP port on loopback (for chromedriver).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `GET /se/log` (chromedriver's log endpoint): fantoccini has no command for it.
#[derive(Debug)]
struct GetLog(&'static str);

impl fantoccini::wd::WebDriverCompatibleCommand for GetLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(json!({ "type": self.0 }).to_string()),
        )
    }
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session (see the module docs
    /// for `offline`). `None` when Chromium or chromedriver is missing and `CI` is unset (the
    /// caller prints nothing more: this prints SKIPPED); panics when `CI` is set and they are
    /// missing, or when they are present but do not start.
    pub async fn start(offline: bool) -> Option<Browser> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if !missing.is_empty() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {} missing (run scripts/setup.sh)",
                missing.join(" and ")
            );
            eprintln!(
                "SKIPPED: {} missing (run scripts/setup.sh); set CI=1 to make this fatal",
                missing.join(" and ")
            );
            return None;
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let profile =
            std::env::temp_dir().join(format!("grc-chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).expect("chromium profile directory");
        // From here on a panic drops `guard`, which kills chromedriver.
        let guard = DriverGuard {
            driver,
            profile: profile.clone(),
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_for_driver(&webdriver).await;

        let mut caps = fantoccini::wd::Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": chromium_args(&profile, offline) }),
        );
        // The console's messages (script errors, failed loads, CSP violations): console_log().
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        // chromedriver listens on loopback: plain HTTP, no TLS stack.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&webdriver)
            .await
            .expect("a Chromium session from chromedriver");
        Some(Browser {
            client,
            _driver: guard,
            offline,
        })
    }

    /// The fantoccini client, for anything these helpers do not cover (find, click, forms…).
    pub fn client(&self) -> &fantoccini::Client {
        &self.client
    }

    /// Navigates to `url` and waits for its load event; panics when it fails to load.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.try_goto(url).await {
            panic!("{url} did not load: {e}");
        }
    }

    /// Navigates to `url`; an error when the page fails to load (e.g. `net::ERR_…` offline).
    pub async fn try_goto(&self, url: &str) -> Result<(), fantoccini::error::CmdError> {
        self.client.goto(url).await
    }

    /// The current document's markup (as the DOM is now, after scripts ran).
    pub async fn html(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// The viewport as a PNG.
    pub async fn screenshot_png(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("screenshot")
    }

    /// Evaluates a JavaScript expression in the page and returns its (JSON) value.
    pub async fn eval(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .unwrap_or_else(|e| panic!("evaluating {expression}: {e}"))
    }

    /// Polls (every 100 ms, at most `timeout`) until the JavaScript `condition` is truthy and
    /// returns its value; panics on timeout with the page's URL and title.
    pub async fn wait_until(&self, condition: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            // Errors while the page is navigating (no document yet) count as "not yet".
            if let Ok(value) = self
                .client
                .execute(&format!("return ({condition});"), vec![])
                .await
            {
                let truthy = match &value {
                    Value::Null => false,
                    Value::Bool(b) => *b,
                    Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                    Value::String(s) => !s.is_empty(),
                    Value::Array(_) | Value::Object(_) => true,
                };
                if truthy {
                    return value;
                }
            }
            if Instant::now() >= deadline {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let title = self.client.title().await;
                panic!(
                    "timed out after {timeout:?} waiting for `{condition}` on {url:?} ({title:?})"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs axe-core on the current page and returns its violations whose impact is `serious`
    /// or `critical` (each: id, impact, help, nodes…). When axe-core is not installed: panics
    /// when `CI` is set, otherwise prints SKIPPED and returns no violation.
    pub async fn axe_violations(&self) -> Vec<Value> {
        let path = axe_path();
        let source = match std::fs::read_to_string(&path) {
            Ok(source) => source,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but {} is unreadable ({e}): run scripts/setup.sh",
                    path.display()
                );
                eprintln!(
                    "SKIPPED: accessibility check, {} unreadable ({e}): run scripts/setup.sh",
                    path.display()
                );
                return Vec::new();
            }
        };
        self.client
            .execute(&format!("{source}\n;return typeof axe;"), vec![])
            .await
            .expect("inject axe-core");
        let result = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { resultTypes: ["violations"] })
                    .then(r => done({ violations: r.violations }))
                    .catch(e => done({ error: String(e) }));"#,
                vec![],
            )
            .await
            .expect("run axe-core");
        if let Some(error) = result.get("error") {
            panic!("axe-core failed: {error}");
        }
        result["violations"]
            .as_array()
            .expect("axe violations")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .cloned()
            .collect()
    }

    /// Every URL the current page loaded or tried to load after the document itself (the
    /// Resource Timing entries: scripts, styles, images, fonts, fetches), plus the document.
    pub async fn resource_urls(&self) -> Vec<String> {
        let urls = self
            .eval(
                "[location.href].concat(performance.getEntriesByType('resource').map(e => e.name))",
            )
            .await;
        serde_json::from_value(urls).expect("resource URLs")
    }

    /// The page's requests ([`Browser::resource_urls`]) to any host but loopback.
    pub async fn external_requests(&self) -> Vec<String> {
        self.resource_urls()
            .await
            .into_iter()
            .filter(|u| !is_loopback_url(u))
            .collect()
    }

    /// The browser console's entries since the last call (each: level, message, timestamp):
    /// script errors, failed loads (`net::ERR_…`) and CSP violations show here as `SEVERE`.
    pub async fn console_log(&self) -> Vec<Value> {
        let log = self
            .client
            .issue_cmd(GetLog("browser"))
            .await
            .expect("browser log");
        serde_json::from_value(log).expect("browser log entries")
    }

    /// The console's `SEVERE` entries since the last call (errors, failed loads).
    pub async fn console_errors(&self) -> Vec<String> {
        self.console_log()
            .await
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Ends the session (Chromium quits) and chromedriver. Dropping also cleans up, without
    /// waiting for Chromium to quit by itself.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// True for `http(s)://` URLs on a loopback host; also `about:`, `data:` and `blob:` URLs (no
/// network).
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "about" | "data" | "blob" => true,
        _ => match parsed.host() {
            Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
    }
}

async fn wait_for_driver(webdriver: &str) {
    let status = format!("{webdriver}/status");
    let deadline = Instant::now() + Duration::from_secs(20);
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(&status).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{CHROMEDRIVER} did not answer at {status} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kills chromedriver, then any Chromium process left from this session (recognised by its
/// profile directory, this browser's own), and removes the profile.
struct DriverGuard {
    driver: Child,
    profile: PathBuf,
}

impl Drop for DriverGuard {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        kill_leftovers(&self.profile);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Kills the processes whose command line names `profile` (this session's Chromium, when
/// chromedriver died before it could end it), by pid.
fn kill_leftovers(profile: &Path) {
    let needle = format!("--user-data-dir={}", profile.display());
    let leftovers = || -> Vec<String> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let pid = entry.file_name().into_string().ok()?;
                if !pid.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                // A process that has exited has an empty command line.
                let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
                cmdline
                    .split(|b| *b == 0)
                    .any(|arg| arg == needle.as_bytes())
                    .then_some(pid)
            })
            .collect()
    };
    let pids = leftovers();
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg("-KILL")
        .args(&pids)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    // Gone before the profile is removed (bounded).
    let deadline = Instant::now() + Duration::from_secs(3);
    while !leftovers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}
