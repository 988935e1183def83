//! Compliance domain: the framework catalog and each org's selection of frameworks and controls.
//! Scoring (scans, SARIF, scores, trends) builds on these and runs every control through the
//! plugin runtime.

pub mod assessment;
pub mod catalog;
pub mod custom;
pub mod evaluate;
pub mod evidence;
pub mod recommend;
pub mod score;
pub mod selection;
