//! The library's error type: one variant per concern, each carrying what a user
//! needs to fix the input (the file or field, what was expected, what was found).

use crate::config::ConfigError;
use crate::data::DataError;
use crate::download::DownloadError;
use crate::io::OutputError;
use crate::modelfile::ModelFileError;

/// Any error the library reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Finding or reading the data failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A configuration value is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Writing an output failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Ensemble members that cannot be combined.
    #[error(transparent)]
    Ensemble(#[from] crate::ensemble::EnsembleError),
    /// A hyper-parameter search failed.
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    /// Writing or reading a model file failed.
    #[error(transparent)]
    ModelFile(#[from] ModelFileError),
    /// Downloading the data failed.
    #[error(transparent)]
    Download(#[from] DownloadError),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
