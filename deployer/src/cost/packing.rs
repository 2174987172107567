//! Bin-packing the EC2 apps' tasks onto container instances, the way the
//! services place them: spread across AZs first, then binpack on memory
//! within each AZ.

use super::CostError;

/// What one container instance offers tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// CPU units (1024 per vCPU).
    pub cpu: u32,
    /// MiB the ECS agent registers.
    pub memory: u32,
}

impl Capacity {
    /// An instance of `vcpu` vCPUs and `memory_mib` MiB, of which the agent
    /// registers `registered_fraction`.
    pub fn of_instance(vcpu: u32, memory_mib: u32, registered_fraction: f64) -> Capacity {
        Capacity {
            cpu: vcpu * 1024,
            memory: (f64::from(memory_mib) * registered_fraction).floor() as u32,
        }
    }
}

/// One app's tasks in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub app: String,
    /// CPU units per task.
    pub cpu: u32,
    /// MiB per task.
    pub memory: u32,
    /// Tasks.
    pub count: u32,
}

/// Refuses a task that no instance of `capacity` can hold.
pub fn check_fits(group: &Group, instance_type: &str, capacity: Capacity) -> Result<(), CostError> {
    if group.cpu > capacity.cpu || group.memory > capacity.memory {
        return Err(CostError::Packing(format!(
            "a task of `{}` ({} CPU units, {} MiB) does not fit on `{instance_type}` \
             ({} CPU units, {} MiB registered with ECS); pick a larger instance_type or a smaller task",
            group.app, group.cpu, group.memory, capacity.cpu, capacity.memory
        )));
    }
    Ok(())
}

/// Instances the groups need across `az_count` AZs. Each app's tasks are
/// spread evenly over the AZs (the first AZs take the remainder), then each
/// AZ's tasks are packed first-fit, largest memory first.
pub fn instances_needed(
    groups: &[Group],
    az_count: u32,
    instance_type: &str,
    capacity: Capacity,
) -> Result<u32, CostError> {
    let az_count = az_count.max(1);
    let mut per_az: Vec<Vec<(u32, u32)>> = vec![Vec::new(); az_count as usize];
    for group in groups.iter().filter(|g| g.count > 0) {
        check_fits(group, instance_type, capacity)?;
        for i in 0..group.count {
            per_az[(i % az_count) as usize].push((group.cpu, group.memory));
        }
    }
    Ok(per_az
        .into_iter()
        .map(|tasks| first_fit_decreasing(tasks, capacity))
        .sum())
}

/// Bins of `capacity` that first-fit decreasing (by memory, then CPU)
/// packs `tasks` into.
fn first_fit_decreasing(mut tasks: Vec<(u32, u32)>, capacity: Capacity) -> u32 {
    tasks.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let mut free: Vec<(u32, u32)> = Vec::new();
    for (cpu, memory) in tasks {
        match free.iter_mut().find(|(c, m)| *c >= cpu && *m >= memory) {
            Some(bin) => {
                bin.0 -= cpu;
                bin.1 -= memory;
            }
            None => free.push((capacity.cpu - cpu, capacity.memory - memory)),
        }
    }
    free.len() as u32
}
