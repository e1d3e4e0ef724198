//! The paper's statistics of binary spike samples, and the errors between two data sets.
