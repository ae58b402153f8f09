//! Ensembles of one-layer networks: members' class probabilities `P_m: K×n` are
//! combined by averaging, `P = (1/M) Σ_m P_m`, then arg-max; or each member votes
//! for its arg-max class and the most votes win.

use ndarray::{Array2, ArrayView2};

use crate::loss::Loss;
use crate::model::{self, Model};

/// Members that cannot be combined.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnsembleError {
    /// No members.
    #[error("an ensemble needs at least one member")]
    Empty,
    /// A member whose output does not have the first member's shape.
    #[error("ensemble member {member} has shape {found:?}, expected {expected:?}")]
    Shape {
        /// Index of the member.
        member: usize,
        /// The first member's shape.
        expected: (usize, usize),
        /// This member's shape.
        found: (usize, usize),
    },
}

/// Class probabilities `K×n` of `m` on `x: d×n`, as `loss` models them
/// (see [`Loss::probabilities`]).
pub fn probabilities(m: &Model, loss: Loss, x: ArrayView2<f32>) -> Array2<f32> {
    let mut s = model::scores(m.w.view(), m.b.view(), x);
    for col in s.columns_mut() {
        loss.probabilities(col);
    }
    s
}

/// Mean of the members' probabilities, `K×n`.
pub fn average(members: &[Array2<f32>]) -> Result<Array2<f32>, EnsembleError> {
    let first = members.first().ok_or(EnsembleError::Empty)?;
    let mut sum = Array2::<f32>::zeros(first.dim());
    for (i, p) in members.iter().enumerate() {
        if p.dim() != first.dim() {
            return Err(EnsembleError::Shape {
                member: i,
                expected: first.dim(),
                found: p.dim(),
            });
        }
        sum += p;
    }
    Ok(sum / members.len() as f32)
}

/// Arg-max class of every column of `p: K×n`.
pub fn predictions(p: ArrayView2<f32>) -> Vec<u8> {
    p.columns()
        .into_iter()
        .map(|c| model::argmax(c) as u8)
        .collect()
}

/// Majority vote over the members' predicted classes (`M` lists of `n`). A tie is
/// won by the tied class of the earliest member that voted for one of the tied
/// classes, so members are best listed best first.
pub fn majority_vote(members: &[Vec<u8>], k: usize) -> Result<Vec<u8>, EnsembleError> {
    let first = members.first().ok_or(EnsembleError::Empty)?;
    let n = first.len();
    for (i, m) in members.iter().enumerate() {
        if m.len() != n {
            return Err(EnsembleError::Shape {
                member: i,
                expected: (1, n),
                found: (1, m.len()),
            });
        }
    }
    let mut counts = vec![0usize; k.max(1)];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        counts.fill(0);
        for m in members {
            if let Some(c) = counts.get_mut(m[i] as usize) {
                *c += 1;
            }
        }
        let most = counts.iter().copied().max().unwrap_or(0);
        let winner = members
            .iter()
            .map(|m| m[i])
            .find(|&c| counts.get(c as usize) == Some(&most))
            .unwrap_or(0);
        out.push(winner);
    }
    Ok(out)
}

/// Fraction of predictions equal to the labels.
pub fn accuracy(predicted: &[u8], labels: &[u8]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let hits = predicted.iter().zip(labels).filter(|(p, y)| p == y).count();
    hits as f64 / labels.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn vote_on_a_hand_made_case() {
        // Five images, three members, three classes.
        let members = vec![
            vec![0, 1, 2, 0, 2],
            vec![0, 2, 2, 1, 1],
            vec![1, 2, 0, 2, 0],
        ];
        // Image 0: 0,0,1 → 0.  Image 1: 1,2,2 → 2.  Image 2: 2,2,0 → 2.
        // Image 3: 0,1,2 all tied → member 0's 0.  Image 4: 2,1,0 tied → 2.
        assert_eq!(majority_vote(&members, 3).unwrap(), vec![0, 2, 2, 0, 2]);
        // A tie between two classes goes to the first member voting for one of them.
        let members = vec![vec![2], vec![1], vec![1], vec![2], vec![0]];
        assert_eq!(majority_vote(&members, 3).unwrap(), vec![2]);
        assert_eq!(majority_vote(&[], 3), Err(EnsembleError::Empty));
        assert!(matches!(
            majority_vote(&[vec![0, 1], vec![0]], 2),
            Err(EnsembleError::Shape { member: 1, .. })
        ));
    }

    #[test]
    fn averaging_can_overturn_the_vote() {
        // Two members mildly prefer class 0, one strongly prefers class 1.
        let p1 = array![[0.55f32], [0.45]];
        let p2 = array![[0.55f32], [0.45]];
        let p3 = array![[0.01f32], [0.99]];
        let avg = average(&[p1.clone(), p2.clone(), p3.clone()]).unwrap();
        assert!((avg[[1, 0]] - (0.45 + 0.45 + 0.99) / 3.0).abs() < 1e-6);
        assert_eq!(predictions(avg.view()), vec![1]);
        let votes: Vec<Vec<u8>> = [p1, p2, p3].iter().map(|p| predictions(p.view())).collect();
        assert_eq!(majority_vote(&votes, 2).unwrap(), vec![0]);
        assert_eq!(accuracy(&[1, 0, 1], &[1, 1, 1]), 2.0 / 3.0);
    }
}
