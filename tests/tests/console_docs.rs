//! `/docs` works offline (issue 17, decision 0027): the interactive API reference is Swagger UI
//! served from files inside the binary, and renders in a headless Chromium that can reach
//! loopback only. Also the proof that such an offline browser reaches nothing else.
//!
//! SQLite only: `/docs` and `/openapi.yaml` serve no tenant data, so the backend changes nothing.

use grc_tests::browser::{Browser, WAIT, is_loopback_url};
use grc_tests::{Backend, spawn_app};
use reqwest::StatusCode;

/// Hosts a page would load third-party assets from.
const CDN_HOSTS: &[&str] = &[
    "unpkg.com",
    "jsdelivr",
    "cdnjs",
    "cloudflare",
    "googleapis",
    "gstatic",
    "bootstrapcdn",
    "cdn.",
    "validator.swagger.io",
];

/// The `src="…"` and `href="…"` values of an HTML page.
fn referenced(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            if let Some(end) = rest.find('"') {
                refs.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    refs
}

#[tokio::test]
async fn docs_render_offline_from_assets_inside_the_binary() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };

    // What the server sends: the page and everything it references come from this server, and
    // none of it names a CDN (the online validator badge is off).
    let page = app.client.get(app.url("/docs")).send().await.expect("send");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.url().path().starts_with("/docs"), "{}", page.url());
    let html = page.text().await.expect("text");
    assert!(html.contains("<html"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let mut assets = referenced(&html);
    assets.push("./swagger-initializer.js".into());
    assert!(
        assets.iter().any(|a| a.ends_with("swagger-ui-bundle.js")),
        "{assets:?}"
    );
    for asset in &assets {
        assert!(
            !asset.contains("//") && !asset.starts_with('/'),
            "{asset} is not relative to /docs/"
        );
        let url = app.url(&format!("/docs/{}", asset.trim_start_matches("./")));
        let r = app.client.get(&url).send().await.expect("send");
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let body = String::from_utf8_lossy(&r.bytes().await.expect("body")).into_owned();
        for host in CDN_HOSTS {
            if asset.ends_with("swagger-initializer.js") || asset.ends_with(".html") {
                assert!(!body.contains(host), "{url} names {host}");
            } else {
                // The bundle names swagger.io's validator as a default the initializer turns
                // off; no other CDN host appears in it.
                assert!(
                    *host == "validator.swagger.io" || !body.contains(host),
                    "{url} names {host}"
                );
            }
        }
        if asset.ends_with("swagger-initializer.js") {
            assert!(body.contains("\"/openapi.yaml\""), "{body}");
            assert!(body.contains("\"validatorUrl\": \"none\""), "{body}");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{body}"
            );
        }
    }

    // What a browser without network access shows.
    let Some(browser) = Browser::start(true).await else {
        return;
    };
    browser.goto(&app.url("/docs")).await;
    let operations = browser
        .wait_until(
            "document.querySelectorAll('.opblock').length > 100 \
                && document.querySelectorAll('.opblock').length",
            WAIT,
        )
        .await;
    let title = browser
        .wait_until("document.querySelector('.info .title')?.textContent", WAIT)
        .await;
    assert!(
        title.as_str().is_some_and(|t| t.contains("GRC API")),
        "{title}"
    );
    let spec_operations = grc::http::openapi()
        .paths
        .paths
        .values()
        .map(|item| {
            [
                &item.get,
                &item.post,
                &item.put,
                &item.patch,
                &item.delete,
                &item.head,
                &item.options,
                &item.trace,
            ]
            .iter()
            .filter(|op| op.is_some())
            .count()
        })
        .sum::<usize>();
    assert_eq!(
        operations.as_u64(),
        Some(spec_operations as u64),
        "every operation is listed"
    );
    let external = browser.external_requests().await;
    assert!(external.is_empty(), "requests off this host: {external:?}");
    let resources = browser.resource_urls().await;
    assert!(
        resources.iter().any(|u| u.ends_with("/openapi.yaml")),
        "{resources:?}"
    );
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let png = browser.screenshot_png().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    browser.close().await;
}

/// A minimal HTTP server on every interface answering `probe-ok`; its port.
async fn probe_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind probe");
    let port = listener.local_addr().expect("probe address").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let body = "<html><body><p id=probe>probe-ok</p></body></html>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

/// The offline browser reaches loopback and nothing else: a server on this machine that an
/// online browser loads through a non-loopback address of the machine fails to load offline,
/// and so does a public host name.
#[tokio::test]
async fn an_offline_browser_reaches_loopback_only() {
    let port = probe_server().await;
    let loopback = format!("http://127.0.0.1:{port}/");
    let external = if_addrs::get_if_addrs()
        .expect("network interfaces")
        .into_iter()
        .map(|i| i.ip())
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
        .map(|ip| format!("http://{ip}:{port}/"));
    assert!(is_loopback_url(&loopback));

    let Some(online) = Browser::start(false).await else {
        return;
    };
    if let Some(external) = &external {
        assert!(!is_loopback_url(external));
        online.goto(external).await;
        assert!(
            online.html().await.contains("probe-ok"),
            "control: {external}"
        );
    } else {
        eprintln!("no non-loopback IPv4 address: the offline check covers host names only");
    }
    online.close().await;

    let Some(offline) = Browser::start(true).await else {
        return;
    };
    offline.goto(&loopback).await;
    assert!(offline.html().await.contains("probe-ok"));
    offline.goto(&format!("http://localhost:{port}/")).await;
    assert!(offline.html().await.contains("probe-ok"));
    if let Some(external) = &external {
        let r = offline.try_goto(external).await;
        assert!(r.is_err(), "{external} loaded offline");
        assert!(!offline.html().await.contains("probe-ok"));
    }
    for url in [
        "https://registry.npmjs.org/",
        "https://deb.debian.org/",
        "http://169.254.169.254/",
    ] {
        let r = offline.try_goto(url).await;
        assert!(r.is_err(), "{url} loaded offline");
    }
    // A page's own fetch to another host fails too.
    offline.goto(&loopback).await;
    let fetched = offline
        .client()
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('https://registry.npmjs.org/', { mode: 'no-cors' })
                 .then(() => done('loaded'), e => done('failed: ' + e));",
            vec![],
        )
        .await
        .expect("fetch");
    assert!(
        fetched.as_str().is_some_and(|f| f.starts_with("failed")),
        "{fetched}"
    );
    offline.close().await;
}
