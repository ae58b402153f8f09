use super::*;
use crate::testing::report_like;

fn weights(n: usize) -> Vec<Array2<f32>> {
    (0..n)
        .map(|r| Array2::from_shape_fn((10, crate::D), |(k, i)| ((r + k * 3 + i) % 17) as f32))
        .collect()
}

/// The values of `attr="…"` in `html`.
fn attrs<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let key = format!("{attr}=\"");
    html.split(key.as_str())
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[test]
fn every_image_of_the_pages_is_a_rendered_file() {
    let r = report_like();
    let files = render(&r, &weights(4)).unwrap();
    let paths: Vec<String> = files
        .iter()
        .map(|(p, _)| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(paths.last().map(String::as_str), Some("report.html"));
    let html = String::from_utf8(files.last().unwrap().1.clone()).unwrap();
    let srcs = attrs(&html, "src");
    // Per run: three curves and the templates; plus two comparison figures.
    assert_eq!(srcs.len(), 4 * 4 + 2);
    for src in srcs
        .iter()
        .chain(attrs(&html, "href").iter().filter(|h| !h.starts_with('#')))
    {
        assert!(
            paths.iter().any(|p| p == src),
            "{src} is not a rendered file"
        );
    }
    for (p, bytes) in &files {
        if p.extension().is_some_and(|e| e == "png") {
            let img = image::load_from_memory(bytes).unwrap();
            assert!(img.width() > 100 && img.height() > 100, "{p:?}");
        }
    }
    let md = &files[files.len() - 2];
    assert_eq!(md.0, PathBuf::from("report.md"));
    let md = String::from_utf8(md.1.clone()).unwrap();
    assert!(md.contains(
        "![λ = 0, η = 0.1: the class templates, rows of W](lambda0_eta0.1/templates.png)"
    ));
}

#[test]
fn the_page_holds_the_tables_and_the_observations() {
    let r = report_like();
    let p = page(&r);
    assert_eq!(p.experiments.rows.len(), 4);
    assert!(
        p.experiments
            .rows
            .iter()
            .all(|row| row.len() == p.experiments.header.len())
    );
    assert_eq!(p.gradient_check.rows.len(), 2);
    assert!(p.setup.iter().any(|(k, v)| k == "Threads" && v == "3"));
    let html = html::render(&p);
    let table = html.split("<table id=\"experiments\">").nth(1).unwrap();
    let body = table.split("</tbody>").next().unwrap();
    assert_eq!(body.matches("<tr>").count(), 5, "header row and four runs");
    assert!(html.contains("oscillated: its training cost rose in 4 of 9 epochs"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn text_is_escaped() {
    assert_eq!(html::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

#[test]
fn written_reports_load_back() {
    let dir = tempfile::tempdir().unwrap();
    let r = report_like();
    let w = weights(4);
    for run in &r.runs {
        std::fs::create_dir_all(dir.path().join(&run.run.name)).unwrap();
        ndarray_npy::write_npy(dir.path().join(&run.run.name).join("W.npy"), &w[0]).unwrap();
    }
    std::fs::write(
        dir.path().join("results.json"),
        serde_json::to_vec(&r).unwrap(),
    )
    .unwrap();
    let (back, wb) = load(dir.path()).unwrap();
    // serde_json may change the last digit of an f64; everything else is equal.
    assert_eq!(back.setup, r.setup);
    for (a, b) in back.runs.iter().zip(&r.runs) {
        assert_eq!(
            (&a.run.name, a.history.epochs()),
            (&b.run.name, b.history.epochs())
        );
        for (x, y) in a.history.val_loss.iter().zip(&b.history.val_loss) {
            assert!((x - y).abs() < 1e-12);
        }
    }
    assert_eq!(wb[3], w[0]);
    let html = write(dir.path(), &back, &wb).unwrap();
    assert!(html.is_file());
    assert!(dir.path().join("lambda1_eta0.001/accuracy.svg").is_file());
    assert!(dir.path().join(STACKED_TEMPLATES).is_file());
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn bad_inputs_are_errors_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let e = load(d).unwrap_err();
    assert!(matches!(e, ReportError::ReadResults { .. }), "{e}");
    let r = report_like();
    let json = serde_json::to_string(&r).unwrap();
    let cases = [
        ("{\"onelayer_version\": 1}", "not a valid results file"),
        (
            &json.replacen("\"test_loss\":1.8", "\"test_loss\":NaN", 1),
            "not a valid results file",
        ),
        (
            &json.replacen("\"val_loss\":[7.8,", "\"val_loss\":[", 1),
            "val_loss has 9 values, expected 10",
        ),
        (
            &json.replacen("\"lambda0_eta0.1\"", "\"../up\"", 1),
            "not a plain folder name",
        ),
    ];
    for (text, expected) in cases {
        assert_ne!(text, json, "the case for {expected:?} changed nothing");
        std::fs::write(d.join("results.json"), text).unwrap();
        let e = load(d).unwrap_err().to_string();
        assert!(e.contains(expected) && e.contains("results.json"), "{e}");
    }
    std::fs::write(d.join("results.json"), &json).unwrap();
    let e = load(d).unwrap_err().to_string();
    assert!(e.contains("lambda0_eta0.1/W.npy"), "{e}");
    for run in &r.runs {
        std::fs::create_dir_all(d.join(&run.run.name)).unwrap();
        let w = Array2::<f32>::zeros((10, 3072));
        ndarray_npy::write_npy(d.join(&run.run.name).join("W.npy"), &w).unwrap();
    }
    let bad = Array2::<f32>::zeros((10, 100));
    ndarray_npy::write_npy(d.join("lambda1_eta0.001/W.npy"), &bad).unwrap();
    let e = load(d).unwrap_err().to_string();
    assert!(e.contains("shape [10, 100], expected [10, 3072]"), "{e}");
    let mut nan = Array2::<f32>::zeros((10, 3072));
    nan[[1, 2]] = f32::NAN;
    ndarray_npy::write_npy(d.join("lambda1_eta0.001/W.npy"), &nan).unwrap();
    let e = load(d).unwrap_err().to_string();
    assert!(e.contains("non-finite value at flat index 3074"), "{e}");
    let as_f64 = Array2::<f64>::zeros((10, 3072));
    ndarray_npy::write_npy(d.join("lambda1_eta0.001/W.npy"), &as_f64).unwrap();
    let e = load(d).unwrap_err().to_string();
    assert!(e.contains("cannot read the weights"), "{e}");
}

#[test]
fn weights_that_do_not_match_the_runs_are_refused() {
    let r = report_like();
    let e = render(&r, &weights(3)).unwrap_err().to_string();
    assert!(e.contains("4 runs of 10 classes"), "{e}");
    let mut w = weights(4);
    w[2] = Array2::zeros((9, crate::D));
    assert!(matches!(render(&r, &w), Err(ReportError::Mismatch { .. })));
}
