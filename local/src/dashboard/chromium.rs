//! Headless Chromium, for the dashboard's picture and for the test that reads
//! the page as a browser drew it. Each run gets a fresh profile in a temporary
//! directory, no network beyond the `file://` page, and a time limit: Chromium
//! runs in a process group of its own, killed whole when it overruns, so no
//! renderer outlives it.

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

/// How long one Chromium run may take before it is killed.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// The window: as wide as the page's layout, and tall enough for all of it.
pub(super) const WINDOW: &str = "1400,1640";

/// /usr/bin/chromium (or `chromium` / `chromium-browser` on PATH, or $CHROMIUM), if present.
///
/// `$CHROMIUM` comes first when it names a file: it is how a machine with
/// Chromium elsewhere says where.
pub fn chromium() -> Option<PathBuf> {
    let chosen = std::env::var_os("CHROMIUM").map(PathBuf::from);
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    chosen
        .into_iter()
        .chain([PathBuf::from("/usr/bin/chromium")])
        .chain(
            ["chromium", "chromium-browser"]
                .iter()
                .flat_map(|name| on_path.iter().map(move |dir| dir.join(name))),
        )
        .find(|candidate| candidate.is_file())
}

/// Why there is no Chromium to run, in plain words.
pub(super) const NOT_INSTALLED: &str =
    "Chromium is not installed (apt-get install chromium, or set CHROMIUM to its path)";

/// Draws `html` into the PNG `png`.
pub(super) fn screenshot(html: &Path, png: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(png);
    run(html, &format!("--screenshot={}", png.display()))?;
    match std::fs::metadata(png) {
        Ok(meta) if meta.len() > 0 => Ok(()),
        _ => Err(format!(
            "Chromium finished but wrote no picture at {}",
            png.display()
        )),
    }
}

/// The page `html` as Chromium's DOM holds it once its scripts have run
/// (`--dump-dom`), with the same flags as the picture.
pub fn rendered_dom(html: &Path) -> Result<String, String> {
    let dom = run(html, "--dump-dom")?;
    if dom.trim().is_empty() {
        return Err("Chromium finished but printed no DOM".into());
    }
    Ok(dom)
}

/// Runs Chromium on `html` with `action` (`--screenshot=…` or `--dump-dom`);
/// what it printed on standard output.
fn run(html: &Path, action: &str) -> Result<String, String> {
    let binary = chromium().ok_or(NOT_INSTALLED)?;
    let html = std::path::absolute(html).map_err(|err| format!("{}: {err}", html.display()))?;
    let scratch = std::env::temp_dir().join(format!("dashboard-chromium-{}", uuid::Uuid::new_v4()));
    let result = run_in(&binary, &html, action, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run_in(binary: &Path, html: &Path, action: &str, scratch: &Path) -> Result<String, String> {
    let profile = scratch.join("profile");
    std::fs::create_dir_all(&profile).map_err(|err| format!("{}: {err}", profile.display()))?;
    // Output into files rather than pipes: nothing has to read while it runs,
    // and a renderer left holding a pipe cannot stall the reader.
    let (out_path, err_path) = (scratch.join("stdout"), scratch.join("stderr"));
    let file = |path: &Path| {
        std::fs::File::create(path).map_err(|err| format!("{}: {err}", path.display()))
    };
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={WINDOW}"))
        .arg("--virtual-time-budget=5000")
        .arg(action)
        .arg(file_url(html))
        .stdin(Stdio::null())
        .stdout(file(&out_path)?)
        .stderr(file(&err_path)?)
        .process_group(0)
        .spawn()
        .map_err(|err| {
            format!(
                "Chromium ({}) could not be started: {err}",
                binary.display()
            )
        })?;
    let status = wait(&mut child)?;
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    if !status.success() {
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        return Err(format!(
            "Chromium failed ({status}): {}",
            last_lines(&stderr, 3)
        ));
    }
    Ok(stdout)
}

/// Waits for `child` within [`TIME_LIMIT`]; past it, kills its process group.
fn wait(child: &mut std::process::Child) -> Result<ExitStatus, String> {
    let began = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if began.elapsed() < TIME_LIMIT => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Ok(None) => {
                // The group is Chromium's own (`process_group(0)`): its id is the child's.
                let _ = Command::new("kill")
                    .args(["-KILL", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "Chromium did not finish within {} s and was stopped",
                    TIME_LIMIT.as_secs()
                ));
            }
            Err(err) => return Err(format!("waiting for Chromium: {err}")),
        }
    }
}

/// The last `n` lines of Chromium's standard error that are not blank.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    match lines.len() {
        0 => "it printed nothing".into(),
        len => lines[len.saturating_sub(n)..].join(" / "),
    }
}

/// `file://` and the absolute path, with what a URL cannot hold percent-encoded.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(char::from(*byte))
            }
            _ => url.push_str(&format!("%{byte:02X}")),
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_url_encodes_what_a_url_cannot_hold() {
        assert_eq!(
            file_url(Path::new("/tmp/a b/#1/dash.html")),
            "file:///tmp/a%20b/%231/dash.html"
        );
    }
}
