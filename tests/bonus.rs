//! `bonus` end to end on the real data, shortened to one epoch per run: the
//! ensemble, the histograms, the section and the files it writes.

mod common;

use onelayer::bonus::{self, BonusConfig, section};
use onelayer::config::{RunConfig, SplitConfig, Validation};
use onelayer::data::ReadOptions;
use onelayer::experiments;
use onelayer::loss::Loss;

#[test]
fn a_short_bonus_run_writes_its_section_figures_and_weights() {
    let Some(path) = common::real_data() else {
        return;
    };
    let split = SplitConfig {
        train_batches: vec![1],
        validation: Validation::HoldOut(1000),
    };
    let mut best = RunConfig::report(0.001, 0.005);
    best.n_epochs = 2;
    best.shuffle = true;
    best.options.flip = 0.5;
    let mut sigmoid = best.clone();
    sigmoid.options.loss = Loss::Sigmoid;
    let mut hinge = best.clone();
    hinge.options.loss = Loss::Hinge;
    hinge.lambda = 0.01;
    let cfg = BonusConfig {
        split: split.clone(),
        best,
        ensemble_seeds: vec![1, 2],
        member: vec![hinge],
        sigmoid,
    };
    let data = experiments::prepare(&path, &split, &ReadOptions::default()).unwrap();
    let out = bonus::run_bonus(&cfg, &data, vec![], 2, &|_, _| {
        Box::new(onelayer::train::Silent)
    })
    .unwrap();
    let r = &out.results;
    assert_eq!(r.setup.n_train, 9000);
    assert_eq!(r.members.len(), 3);
    assert_eq!(
        r.ensemble.members,
        vec!["best", "best_seed1", "best_seed2", "member0"]
    );
    assert_eq!(r.members[2].run.options.loss, Loss::Hinge);
    assert_eq!(r.ensemble.member_accuracy[0], r.best.test_accuracy);
    for acc in [
        r.best.test_accuracy,
        r.ensemble.average_accuracy,
        r.ensemble.vote_accuracy,
    ] {
        assert!((0.25..0.45).contains(&acc), "{acc}");
    }
    let [soft, sig] = &r.histograms;
    let total: usize = soft.correct.iter().chain(&soft.incorrect).sum();
    assert_eq!(total, 10_000);
    let correct: usize = soft.correct.iter().sum();
    assert_eq!(correct as f64 / 1e4, r.best.test_accuracy);
    assert!(soft.mean_correct > soft.mean_incorrect && sig.mean_correct > sig.mean_incorrect);

    let dir = tempfile::tempdir().unwrap();
    section::write(dir.path(), &cfg, &out).unwrap();
    for f in [
        section::CURVES,
        section::TEMPLATES,
        section::HISTOGRAMS,
        "bonus.md",
        "bonus.html",
        "bonus.json",
        "bonus.toml",
        "best/W.npy",
        "best/model.onelayer",
        "sigmoid/b.npy",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let png = std::fs::read(dir.path().join(section::HISTOGRAMS)).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let md = std::fs::read_to_string(dir.path().join("bonus.md")).unwrap();
    assert!(md.contains(&format!("{:.2}%", 100.0 * r.ensemble.vote_accuracy)));
    assert!(
        md.contains("| best single network | 9000 | softmax | 0.001 | 0.005 |"),
        "{md}"
    );
    let file =
        onelayer::modelfile::ModelFile::load(&dir.path().join("best/model.onelayer")).unwrap();
    assert_eq!(file.model, out.best_model);
    assert_eq!(file.meta.test_accuracy, Some(r.best.test_accuracy));
    assert_eq!(file.meta.run.options.augment.flip, 0.5);
    let back: BonusConfig =
        toml::from_str(&std::fs::read_to_string(dir.path().join("bonus.toml")).unwrap()).unwrap();
    assert_eq!(back, cfg);
}

#[test]
fn the_gradient_check_command_passes_for_every_loss_on_the_real_data() {
    let Some(path) = common::real_data() else {
        return;
    };
    let losses = [
        ["--loss", "softmax"],
        ["--loss", "sigmoid"],
        ["--loss", "hinge"],
        ["--gce-q", "0.5"],
    ];
    for loss in losses {
        let out = common::onelayer()
            .args(["gradcheck", "--dims", "20", "--examples", "10"])
            .args(loss)
            .arg("--data")
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{loss:?}: {stdout}");
        assert!(
            stdout.contains("gradient check passed"),
            "{loss:?}: {stdout}"
        );
    }
}

#[test]
fn invalid_option_flags_are_named_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    for (args, want) in [
        (vec!["--flip", "1.5"], "--flip: must be a probability"),
        (vec!["--translate", "9"], "--translate: must be at most 8"),
        (
            vec!["--early-stopping", "0"],
            "--early-stopping: must be at least 1",
        ),
        (
            vec!["--schedule", "{ step = { factor = 0.5, every = 2 } }"],
            "--schedule.factor: must be a finite number > 1",
        ),
        (vec!["--loss", "svm"], "unknown loss \"svm\""),
        (
            vec!["--gce-q", "1.5"],
            "--gce-q: must be in [0, 1], got 1.5",
        ),
        (
            vec!["--gce-q", "0.5", "--loss", "hinge"],
            "--gce-q: generalizes the softmax loss only",
        ),
        (
            vec!["--gce-q", "0.5", "--label-smoothing", "0.1"],
            "--gce-q: cannot go with label smoothing",
        ),
    ] {
        let o = common::onelayer()
            .arg("train")
            .args(&args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && stderr.contains(want),
            "{args:?}: {stderr}"
        );
        assert!(!out.exists());
    }
}
