//! The worker pool: runs planned into balanced groups that each train as one
//! stack, trained on a few threads, then evaluated on the test set.

use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::config::Hyper;
use crate::data::Prepared;
use crate::kernels;
use crate::model::Model;
use crate::normalize::Dataset;
use crate::results::RunResult;
use crate::train::{self, Observer, Trained};

/// A finished run: its record and its weights.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// What goes into `results.json`.
    pub result: RunResult,
    /// The trained weights.
    pub model: Model,
}

/// Trains one run and evaluates it on the test set.
pub fn run_one(h: &Hyper, data: &Prepared, observer: &mut dyn Observer) -> RunOutput {
    let mut out = run_group(std::slice::from_ref(h), data, &mut [observer]);
    out.pop()
        .unwrap_or_else(|| unreachable!("one run in, one result out"))
}

/// Trains runs together ([`train::train_runs`]: those that share their mini-batches
/// share their passes over the data) and evaluates each on the test set. Each run's
/// `seconds` is the wall-clock time of the whole group.
pub fn run_group(
    hypers: &[Hyper],
    data: &Prepared,
    observers: &mut [&mut dyn Observer],
) -> Vec<RunOutput> {
    run_group_in(hypers, data, None, observers)
}

/// [`run_group`], as a member of a team evaluating on `data`'s training and
/// validation sets when `member` is given (then the group is one stack).
fn run_group_in(
    hypers: &[Hyper],
    data: &Prepared,
    member: Option<kernels::TeamMember>,
    observers: &mut [&mut dyn Observer],
) -> Vec<RunOutput> {
    let start = Instant::now();
    let trained = train_group(hypers, (&data.train, &data.val), member, observers);
    // The test set once for all the group's runs, stacked (as each alone).
    let models: Vec<Model> = trained.iter().map(|t| t.model.clone()).collect();
    let lambda: Vec<f64> = hypers.iter().map(|h| h.lambda).collect();
    let loss: Vec<_> = hypers.iter().map(|h| h.options.reported_loss()).collect();
    let affine = data.test.normalizer.affine();
    let test = kernels::Workspace::shared().evaluate(
        &kernels::Stack::new(&models),
        kernels::Images::new(&data.test.pixels, &affine),
        &data.test.labels,
        &lambda,
        &loss,
    );
    let outputs: Vec<_> = hypers
        .iter()
        .zip(test)
        .zip(trained)
        .map(|((h, test), t)| (h, test, t))
        .collect();
    let seconds = start.elapsed().as_secs_f64();
    outputs
        .into_iter()
        .map(|(h, test, trained)| RunOutput {
            result: RunResult {
                run: h.clone(),
                diverged: trained.diverged_at_epoch.is_some(),
                diverged_at_epoch: trained.diverged_at_epoch,
                test_accuracy: test.accuracy,
                test_loss: test.loss,
                seconds,
                history: trained.history,
                best_epoch: trained.best_epoch,
                stopped_at_epoch: trained.stopped_at_epoch,
            },
            model: trained.model,
        })
        .collect()
}

/// Trains runs together on `sets` (training, validation), as [`train::train_runs`]
/// does, or as a member of a team evaluating on the team's sets when `member` is
/// given (then the runs are one stack).
pub fn train_group(
    hypers: &[Hyper],
    (train, val): (&Dataset, &Dataset),
    member: Option<kernels::TeamMember>,
    observers: &mut [&mut dyn Observer],
) -> Vec<Trained> {
    match member {
        // The member leaves as soon as its training is over.
        Some(m) => train::train_in_team(hypers, &m, observers),
        None => train::train_runs(hypers, train, val, observers),
    }
}

/// Makes the observer of run `i`.
pub type ObserverFactory<'a> = dyn Fn(usize, &Hyper) -> Box<dyn Observer + Send> + Sync + 'a;

/// Splits runs into at most `threads` groups of balanced work (epochs), each group
/// holding only runs of one of [`train::stack_groups`], so that each group trains
/// as one stack. Groups are returned heaviest first, as lists of indices.
pub fn plan(hypers: &[Hyper], threads: usize) -> Vec<Vec<usize>> {
    let work = |g: &[usize]| g.iter().map(|&i| hypers[i].n_epochs).sum::<usize>();
    let mut groups = train::stack_groups(hypers);
    while groups.len() < threads {
        let Some(pos) = (0..groups.len())
            .filter(|&p| groups[p].len() > 1)
            .max_by_key(|&p| work(&groups[p]))
        else {
            break;
        };
        let mut big = groups.swap_remove(pos);
        big.sort_by_key(|&i| std::cmp::Reverse(hypers[i].n_epochs));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in big {
            if work(&a) <= work(&b) {
                a.push(i)
            } else {
                b.push(i)
            }
        }
        a.sort_unstable();
        b.sort_unstable();
        groups.push(a);
        groups.push(b);
    }
    groups.sort_by_key(|g| std::cmp::Reverse(work(g)));
    groups
}

/// Trains every run, in the groups of [`plan`] on `threads` threads, and returns
/// them in order.
pub fn run_all(
    hypers: &[Hyper],
    data: &Prepared,
    threads: usize,
    observers: &ObserverFactory,
) -> Vec<RunOutput> {
    let groups = plan(hypers, threads.max(1));
    let done: Mutex<Vec<Option<RunOutput>>> = Mutex::new(vec![None; hypers.len()]);
    let sets = (&data.train, &data.val);
    for_each_group(hypers, &groups, sets, threads, &|group, member| {
        let hs: Vec<Hyper> = group.iter().map(|&i| hypers[i].clone()).collect();
        let mut boxes: Vec<_> = group.iter().map(|&i| observers(i, &hypers[i])).collect();
        let mut obs: Vec<&mut dyn Observer> = boxes
            .iter_mut()
            .map(|b| b.as_mut() as &mut dyn Observer)
            .collect();
        let outs = run_group_in(&hs, data, member, &mut obs);
        if let Ok(mut d) = done.lock() {
            for (&i, out) in group.iter().zip(outs) {
                d[i] = Some(out);
            }
        }
        ControlFlow::Continue(())
    });
    done.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// What a worker does with a group of runs (indices into the runs), given its
/// place in the team when it has one (see [`train_group`]).
pub type GroupWork<'a> =
    dyn Fn(&[usize], Option<kernels::TeamMember>) -> ControlFlow<()> + Sync + 'a;

/// The worker pool: `threads` workers (at most one per group) take the `groups`
/// of `hypers` in order and call `work` on each; once `work` breaks, no worker
/// takes another group. When the groups that start together are each one stack,
/// their workers form a team that evaluates on `sets` (training, validation)
/// together.
pub fn for_each_group(
    hypers: &[Hyper],
    groups: &[Vec<usize>],
    (train, val): (&Dataset, &Dataset),
    threads: usize,
    work: &GroupWork,
) {
    let next = AtomicUsize::new(0);
    let workers = threads.clamp(1, groups.len().max(1));
    // The groups that start together, each one stack, evaluate together.
    let one_stack = |g: &Vec<usize>| {
        let hs: Vec<Hyper> = g.iter().map(|&i| hypers[i].clone()).collect();
        train::stack_groups(&hs).len() == 1
    };
    let teamed = workers > 1 && groups.iter().take(workers).all(one_stack);
    let team = kernels::Team::new(train, val, if teamed { workers } else { 0 });
    std::thread::scope(|scope| {
        for w in 0..workers {
            let (next, team) = (&next, &team);
            scope.spawn(move || {
                // The threads beyond one per group join the workers' crews.
                let crew = Crew::new(threads / workers + usize::from(w < threads % workers));
                loop {
                    let gi = next.fetch_add(1, Ordering::Relaxed);
                    // Member `gi` of the team, taken first: it leaves when dropped
                    // (after training, or on a panic), and the others stop waiting.
                    let member = (teamed && gi < workers).then(|| team.member(gi));
                    let Some(group) = groups.get(gi) else { break };
                    if crew.install(|| work(group, member)).is_break() {
                        next.store(groups.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
}

/// `work` (say [`train::train_runs`]) with `threads` threads sharing out each
/// step and evaluation of its stacks (see [`kernels::Workspace::shared`]); the
/// results are those of one thread. Panics in `work` propagate.
pub fn with_threads<R: Send>(threads: usize, work: impl FnOnce() -> R + Send) -> R {
    Crew::new(threads).install(work)
}

/// The threads that train one group: a rayon pool whose threads share out each
/// step and evaluation (see [`kernels::Workspace::shared`]), or the worker
/// alone.
struct Crew(Option<rayon::ThreadPool>);

impl Crew {
    /// A crew of `threads`; the worker alone if that is 1, or if the pool's
    /// threads cannot be started (then the work is the same, on one thread).
    fn new(threads: usize) -> Crew {
        let pool = (threads > 1).then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("onelayer-crew-{i}"))
                .build()
                .ok()
        });
        Crew(pool.flatten())
    }

    /// `work` on the crew's threads.
    fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        match &self.0 {
            Some(pool) => pool.install(work),
            None => work(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plan;
    use crate::config::{ExperimentConfig, Hyper};

    fn report() -> Vec<Hyper> {
        let c = ExperimentConfig::report();
        c.check(c.n_train()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_report_runs_split_into_two_balanced_stacks() {
        let groups = plan(&report(), 2);
        assert_eq!(groups.len(), 2);
        assert!(groups.iter().all(|g| g.len() == 2));
        let mut all: Vec<usize> = groups.concat();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3]);
        assert_eq!(plan(&report(), 1), [vec![0, 1, 2, 3]]);
    }

    #[test]
    fn runs_with_other_mini_batches_never_share_a_stack() {
        let mut hs = report();
        hs[1].shuffle = true;
        hs[2].n_batch = 50;
        for threads in 1..=4 {
            for g in plan(&hs, threads) {
                let keys: Vec<_> = g.iter().map(|&i| crate::train::batch_key(&hs[i])).collect();
                assert!(keys.windows(2).all(|w| w[0] == w[1]), "{threads}: {g:?}");
            }
        }
        assert_eq!(plan(&hs, 1).len(), 3);
    }
}
