//! A local dashboard drawn from the consumer's EMF documents: the widgets of
//! the SAM template's CloudWatch dashboard (`Dashboard` in infra/template.yaml)
//! that come from the consumer's own metrics, plus the late finishes, under a
//! row of headline [`Figures`].
//!
//! The page is one self-contained HTML file (inline CSS, script and data; no
//! network): the documents, cut down to the fields the widgets draw (no contact
//! or run id), sit in a `<script type="application/json">`, and `page.js` bins
//! them in time and draws every widget as SVG. [`write`] also has headless
//! [`chromium`] take a picture of it, when there is a Chromium to run.
//!
//! Percentiles are by nearest rank ([`figures::nearest_rank`]), here and in the
//! page's script alike.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod chromium;
mod figures;

pub use chromium::{chromium, rendered_dom};
use figures::Reading;
pub use figures::{figures, nearest_rank, Figures};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TEMPLATE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");

/// The self-contained page (no network: inline CSS, inline JS, inline data) for `docs`, titled `title`.
pub fn page(docs: &[Value], title: &str) -> String {
    let readings: Vec<Reading> = docs.iter().filter_map(Reading::of).collect();
    // Serialising plain numbers, strings and maps cannot fail.
    let data = serde_json::to_string(&readings).expect("readings serialise");
    fill(
        TEMPLATE,
        &[
            ("TITLE", &escape_html(title)),
            ("DATA", &escape_script(&data)),
            ("SCRIPT", SCRIPT),
        ],
    )
}

/// What [`write`] wrote.
#[derive(Debug)]
pub struct Written {
    pub html: PathBuf,
    /// The picture, or why there is none, in plain words.
    pub png: Result<PathBuf, String>,
}

/// Writes `html` (the page) and, when Chromium is found, a PNG screenshot of it beside it (same stem, .png).
pub fn write(docs: &[Value], title: &str, html: &Path) -> Result<Written, BoxError> {
    if let Some(dir) = html.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    }
    std::fs::write(html, page(docs, title)).map_err(|err| format!("{}: {err}", html.display()))?;
    let png = html.with_extension("png");
    let png = chromium::screenshot(html, &png).map(|()| png);
    Ok(Written {
        html: html.to_path_buf(),
        png,
    })
}

/// `template` with each `{{NAME}}` of it replaced by its value. Only the
/// template's own placeholders are replaced, never text inside a value.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut page =
        String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let name = &rest[start + 2..start + end];
        match values.iter().find(|(key, _)| *key == name) {
            Some((_, value)) => {
                page.push_str(&rest[..start]);
                page.push_str(value);
            }
            None => page.push_str(&rest[..start + end + 2]),
        }
        rest = &rest[start + end + 2..];
    }
    page.push_str(rest);
    page
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// JSON that can sit inside `<script>`: every `<` (so `</script>` and `<!--`)
/// becomes the JSON escape `\u003c`, which parses back to the same text.
fn escape_script(json: &str) -> String {
    json.replace('<', "\\u003c")
}

#[cfg(test)]
mod tests;
