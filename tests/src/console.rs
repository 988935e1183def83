//! Harness for the web console (issue 17) over plain HTTP: a cookie-keeping client that signs in
//! with an API key, reads pages and posts forms (one helper per console route it drives).

use crate::TestApp;
use reqwest::{StatusCode, header};

/// A console page or form answer.
pub struct Page {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub html: String,
}

impl Page {
    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> Option<String> {
        let at = self.html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
        let rest = &self.html[at..];
        rest.find('"').map(|end| rest[..end].to_owned())
    }
}

/// A browser-like client of one console session.
pub struct ConsoleClient {
    http: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
}

impl TestApp {
    /// A console client with no session yet.
    pub fn console(&self) -> ConsoleClient {
        ConsoleClient {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: self.base.clone(),
            cookie: None,
        }
    }
}

impl ConsoleClient {
    async fn page(&self, resp: reqwest::Response) -> Page {
        let status = resp.status();
        let headers = resp.headers().clone();
        let html = resp.text().await.expect("body");
        Page {
            status,
            headers,
            html,
        }
    }

    /// `GET path` with the session cookie.
    pub async fn get(&self, path: &str) -> Page {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            req = req.header(header::COOKIE, cookie);
        }
        self.page(req.send().await.expect("sent")).await
    }

    /// `POST path` with form `fields`, the session cookie and a same-origin `Origin`.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::ORIGIN, &self.base)
            .form(fields);
        if let Some(cookie) = &self.cookie {
            req = req.header(header::COOKIE, cookie);
        }
        self.page(req.send().await.expect("sent")).await
    }

    /// `POST /console/sign-in` with `api_key`; keeps the session cookie it sets.
    pub async fn sign_in(&mut self, api_key: &str) -> Page {
        let page = self.post("/console/sign-in", &[("api_key", api_key)]).await;
        if let Some(set) = page
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
        {
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        page
    }

    /// `POST /console/sign-out` with the page's CSRF token.
    pub async fn sign_out(&self, csrf: &str) -> Page {
        self.post("/console/sign-out", &[("csrf", csrf)]).await
    }

    /// `GET path` with the session cookie, the body kept as bytes (console downloads).
    pub async fn download(&self, path: &str) -> crate::RawResp {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            req = req.header(header::COOKIE, cookie);
        }
        let resp = req.send().await.expect("sent");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.bytes().await.expect("body").to_vec();
        crate::RawResp {
            status,
            headers,
            bytes,
        }
    }

    /// `POST path` as `multipart/form-data` (a file upload form): text `fields`, then `file`
    /// as (field name, file name, bytes), with the session cookie and a same-origin `Origin`.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Page {
        let boundary = "----grc-console-test-boundary-7d1f";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        let (name, filename, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/wasm\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::ORIGIN, &self.base)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if let Some(cookie) = &self.cookie {
            req = req.header(header::COOKIE, cookie);
        }
        self.page(req.send().await.expect("sent")).await
    }
}
