//! The label columns a dataset yields: one speed per sensor, roll/pitch/yaw per sensor,
//! one symmetry per left/right pair, with names, tasks and units.

use serde::{Deserialize, Serialize};

use crate::config::Task;
use crate::data::dataset_config::{DatasetConfig, Modality};
use crate::physics::AngleQuantity;
use crate::physics::orientation::YawSource;

/// One label column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// Column name: `speed.<sensor>`, `angle.<sensor>.<roll|pitch|yaw>` or
    /// `symmetry.<left>.<right>`.
    pub name: String,
    /// The task it belongs to.
    pub task: Task,
    /// Physical unit of the value.
    pub unit: String,
    /// For yaw columns: how yaw was computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaw_source: Option<YawSource>,
}

/// The label columns of a dataset under an angle quantity, in order: speeds, then angles,
/// then symmetries.
pub fn quantities(config: &DatasetConfig, angles: AngleQuantity) -> Vec<Quantity> {
    let quantity = |name: String, task, unit: &str| Quantity { name, task, unit: unit.into(), yaw_source: None };
    let mut out: Vec<Quantity> = config
        .sensors
        .iter()
        .map(|s| quantity(format!("{}.{}", Task::Speed.name(), s.name), Task::Speed, "m/s"))
        .collect();
    for sensor in &config.sensors {
        for &angle in angles.columns() {
            let mut q = quantity(format!("angle.{}.{angle}", sensor.name), Task::Angle, "rad");
            if angle == "yaw" {
                q.yaw_source =
                    Some(if sensor.has(Modality::Mag) { YawSource::Magnetometer } else { YawSource::GravityAzimuth });
            }
            out.push(q);
        }
    }
    out.extend(
        config.pairs.iter().map(|p| quantity(format!("symmetry.{}.{}", p.left, p.right), Task::Symmetry, "m/s^2")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names_agree_with_configs_and_parse_back() {
        for task in Task::ALL {
            assert_eq!(serde_json::to_string(&task).unwrap(), format!("\"{}\"", task.name()));
            assert_eq!(task.name().parse::<Task>(), Ok(task));
        }
        assert!("speeed".parse::<Task>().is_err());
    }
}
