//! The per-user cache: `download`'s default destination and the last place the
//! data is looked for.

mod common;

use std::path::Path;

use onelayer::data;

use common::s;

#[test]
fn the_cache_is_under_xdg_cache_home_else_the_platforms() {
    let t = tempfile::tempdir().unwrap();
    assert_eq!(
        data::cache_dir_in(Some(t.path().into())).unwrap(),
        t.path().join("onelayer")
    );
    let platform = data::cache_dir_in(Some("".into()));
    assert_eq!(platform, dirs::cache_dir().map(|d| d.join("onelayer")));
}

#[test]
fn the_cache_is_looked_at_last() {
    let t = tempfile::tempdir().unwrap();
    let (here, cache, gone) = (t.path(), t.path().join("cache"), t.path().join("gone"));
    std::fs::create_dir(&cache).unwrap();
    let from = |flag: Option<&Path>, env: Option<&Path>, default: &Path| {
        data::locate_from(flag, env.map(Into::into), default, Some(&cache))
    };
    assert_eq!(from(None, None, &gone).unwrap(), cache);
    assert_eq!(from(None, None, here).unwrap(), here, "./data comes first");
    assert_eq!(from(None, Some(here), &gone).unwrap(), here);
    // A location the user gave that does not exist is an error, not a fall-back.
    assert!(from(Some(&gone), None, &gone).is_err());
    assert!(from(None, Some(&gone), &gone).is_err());
    let e = data::locate_from(None, None, &gone, Some(&gone.join("c")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the cache") && e.contains("onelayer download"),
        "{e}"
    );
}

/// `onelayer` run from `cwd` with the cache in `cache_home` and no `$CIFAR10_DIR`.
fn onelayer_with_cache(cwd: &Path, cache_home: &Path, args: &[&str]) -> std::process::Output {
    common::onelayer()
        .current_dir(cwd)
        .env_remove("CIFAR10_DIR")
        .env("XDG_CACHE_HOME", cache_home)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn download_goes_to_the_cache_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let url = common::answering_server("404 Not Found");
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let o = onelayer_with_cache(&cwd, tmp.path(), &["download", "--url", &url]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    let cache = tmp.path().join("onelayer");
    assert!(err.contains(&format!("into {}", cache.display())), "{err}");
    assert_eq!(
        std::fs::read_dir(&cwd).unwrap().count(),
        0,
        "nothing in the current folder"
    );
}

#[test]
fn data_in_the_cache_is_found_from_any_folder() {
    let Some(real) = common::real_data() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("onelayer");
    std::fs::create_dir(&cache).unwrap();
    // Where `download` puts the binary version.
    std::os::unix::fs::symlink(&real, cache.join("cifar-10-batches-bin")).unwrap();
    let cwd = tmp.path().join("somewhere");
    std::fs::create_dir(&cwd).unwrap();
    let out = tmp.path().join("out");
    let o = onelayer_with_cache(
        &cwd,
        tmp.path(),
        &["train", "--n-epochs", "1", "--out", s(&out)],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("results.json").is_file());

    let empty = tempfile::tempdir().unwrap();
    let o = onelayer_with_cache(
        &cwd,
        empty.path(),
        &["train", "--n-epochs", "1", "--out", s(&out)],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!(
            "the cache {}",
            empty.path().join("onelayer").display()
        )),
        "{err}"
    );
}
