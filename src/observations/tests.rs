use super::*;
use crate::testing::{diverged, history, report_like, results, run};

#[test]
fn rises_are_counted_against_the_previous_epoch() {
    let t = CostTrend::of(&[3.0, 2.0, 2.5, 1.0, 1.5, 1.5]);
    assert_eq!(t, CostTrend { rises: 2, steps: 5 });
    assert!(t.oscillated());
    // A plateau with rounding noise below the tolerance is no rise.
    let flat = CostTrend::of(&[2.0, 1.9, 1.9 * (1.0 + 1e-9), 1.8]);
    assert_eq!(flat.rises, 0);
    assert!(!flat.oscillated());
    // One bump in forty epochs is no oscillation.
    let mut long: Vec<f64> = (0..40).map(|i| 3.0 - 0.01 * i as f64).collect();
    long[20] = 5.0;
    assert_eq!(CostTrend::of(&long).rises, 1);
    assert!(!CostTrend::of(&long).oscillated());
    assert_eq!(CostTrend::of(&[]), CostTrend { rises: 0, steps: 0 });
}

#[test]
fn the_report_like_runs_give_the_expected_facts() {
    let obs = observe(&report_like());
    let oscillated: Vec<_> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Oscillated { run, trend, range } => Some((run, trend, range)),
            _ => None,
        })
        .collect();
    assert_eq!(oscillated.len(), 1);
    assert_eq!(oscillated[0].0, "λ = 0, η = 0.1");
    // 5.8 3.9 4.9 4.8 4.9 3.8 3.9 4.7 4.2 3.5: up at 4.9, 4.9, 3.9, 4.7.
    assert_eq!(oscillated[0].1.rises, 4);
    assert_eq!(*oscillated[0].2, (3.5, 5.8));
    assert!(obs.contains(&Observation::Decreased {
        runs: vec![
            "λ = 0, η = 0.001".into(),
            "λ = 0.1, η = 0.001".into(),
            "λ = 1, η = 0.001".into()
        ]
    }));
    let Some(Observation::Regularisation { eta, points }) = obs
        .iter()
        .find(|o| matches!(o, Observation::Regularisation { .. }))
    else {
        panic!("no regularisation observation in {obs:?}");
    };
    assert_eq!(*eta, 0.001);
    let lambdas: Vec<f64> = points.iter().map(|p| p.lambda).collect();
    assert_eq!(lambdas, [0.0, 0.1, 1.0]);
    assert!((points[0].loss_gap - 0.18).abs() < 1e-12);
    assert!((points[2].loss_gap - 0.06).abs() < 1e-12);
    let text = obs
        .iter()
        .find(|o| matches!(o, Observation::Regularisation { .. }))
        .map(|o| o.to_string())
        .unwrap_or_default();
    assert!(text.contains("final training loss rises"), "{text}");
    assert!(text.contains("training loss narrows"), "{text}");
}

#[test]
fn the_best_learning_rate_is_the_one_with_the_best_validation_accuracy() {
    let acc_low = [0.2, 0.25, 0.3];
    let acc_high = [0.3, 0.35, 0.4];
    let r = results(vec![
        run(0.0, 0.1, history(&[2.0, 1.9, 1.8], 0.0, 0.1, &acc_low, 0.0)),
        run(
            0.0,
            0.01,
            history(&[2.0, 1.9, 1.8], 0.0, 0.1, &acc_high, 0.0),
        ),
        run(
            0.0,
            0.001,
            history(&[2.0, 1.9, 1.8], 0.0, 0.1, &acc_low, 0.05),
        ),
    ]);
    let obs = observe(&r);
    let Some(Observation::LearningRate { best, others, .. }) = obs
        .iter()
        .find(|o| matches!(o, Observation::LearningRate { .. }))
    else {
        panic!("no learning-rate observation in {obs:?}");
    };
    assert_eq!(best.eta, 0.01);
    let other_etas: Vec<f64> = others.iter().map(|p| p.eta).collect();
    assert_eq!(other_etas, [0.001, 0.1]);
    assert!(matches!(
        obs.last(),
        Some(Observation::Best { run, .. }) if run == "λ = 0, η = 0.01"
    ));
}

#[test]
fn a_diverged_run_is_reported_and_left_out_of_the_comparisons() {
    let h = history(&[2.0, 1.9], 0.0, 0.1, &[0.3, 0.35], 0.0);
    let r = results(vec![
        diverged(run(0.0, 0.5, h.clone()), 40),
        run(0.0, 0.001, h),
    ]);
    let obs = observe(&r);
    assert!(obs.contains(&Observation::Diverged {
        run: "λ = 0, η = 0.5".into(),
        epoch: 3
    }));
    assert!(
        !obs.iter()
            .any(|o| matches!(o, Observation::LearningRate { .. }))
    );
    let text = obs[0].to_string();
    assert!(
        text.contains("epoch 3") && text.contains("stop at epoch 2"),
        "{text}"
    );
}

#[test]
fn a_run_diverged_in_its_first_epoch_is_handled() {
    let r = results(vec![diverged(run(0.0, 9.0, History::default()), 5)]);
    let obs = observe(&r);
    assert_eq!(
        obs,
        [Observation::Diverged {
            run: "λ = 0, η = 9".into(),
            epoch: 1
        }]
    );
}

use crate::results::History;
