//! The report as a person sees it: `report.html` opened in headless Chromium.
//! Every image must load with a non-zero natural size and the experiments table
//! must have four rows; a screenshot is kept in `target/test-artefacts/`.
//!
//! Without Chromium the test is skipped with a note, except in CI
//! (`ONELAYER_REQUIRE_DATA=1` or `CI=true`), where it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Chromium binary: `$CHROMIUM`, else `chromium` or `chromium-browser` on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

fn required() -> bool {
    std::env::var("ONELAYER_REQUIRE_DATA").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Runs headless Chromium on `page` with `args`, killing it after two minutes;
/// returns its stdout.
fn run_chromium(bin: &Path, profile: &Path, args: &[String], page: &Path) -> String {
    let mut child = Command::new(bin)
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
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start chromium");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish in two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Written into the test's copy of the page: once everything has loaded, the
/// state of every image and the experiments table's row count, as JSON.
const CHECK_SCRIPT: &str = r#"<script>
window.addEventListener('load', function () {
  var images = Array.prototype.map.call(document.images, function (i) {
    return { src: i.getAttribute('src'), complete: i.complete,
             width: i.naturalWidth, height: i.naturalHeight };
  });
  var rows = document.querySelectorAll('table#experiments tbody tr').length;
  var pre = document.createElement('pre');
  pre.id = 'check';
  pre.textContent = JSON.stringify({ images: images, rows: rows });
  document.body.appendChild(pre);
});
</script>
</body>"#;

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn the_report_opens_in_a_browser_with_every_image_and_four_runs() {
    let Some(bin) = chromium() else {
        assert!(!required(), "chromium is required in CI but was not found");
        eprintln!("skipped: chromium not found (install it, or set $CHROMIUM)");
        return;
    };
    let artefacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artefacts");
    let dir = artefacts.join("report");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    common::report::write(&dir);
    let status = Command::new(env!("CARGO_BIN_EXE_onelayer"))
        .arg("report")
        .arg(&dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let dir = dir.canonicalize().unwrap();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("</body>"));
    let check_page = dir.join("report-check.html");
    std::fs::write(&check_page, html.replacen("</body>", CHECK_SCRIPT, 1)).unwrap();

    let profile = tempfile::tempdir().unwrap();
    let dom = run_chromium(
        &bin,
        profile.path(),
        &["--virtual-time-budget=5000".into(), "--dump-dom".into()],
        &check_page,
    );
    let json = dom
        .split("<pre id=\"check\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("the check did not run; the DOM was:\n{dom}"));
    let check: serde_json::Value = serde_json::from_str(&unescape(json)).unwrap();
    assert_eq!(check["rows"], 4, "experiments table rows: {check}");
    let images = check["images"].as_array().unwrap();
    // Four runs × (loss, cost, accuracy, templates), plus the two comparisons.
    assert_eq!(images.len(), 18, "{check}");
    for img in images {
        let ok = img["complete"] == true
            && img["width"].as_u64().unwrap_or(0) > 0
            && img["height"].as_u64().unwrap_or(0) > 0;
        assert!(ok, "image did not load: {img}");
    }

    let shot = artefacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    run_chromium(
        &bin,
        profile.path(),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,4000".into(),
            "--virtual-time-budget=5000".into(),
        ],
        &dir.join("report.html"),
    );
    let img = image::open(&shot).expect("no screenshot");
    assert_eq!((img.width(), img.height()), (1280, 4000));
    eprintln!("screenshot: {}", shot.display());
}
