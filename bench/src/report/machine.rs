//! The machine a run measured on, in a line of the report.

#[derive(Default)]
pub struct Machine {
    pub date: String,
    pub cores: usize,
    pub cpu: String,
    pub memory_gib: f64,
    pub dynamodb_local: String,
    pub load_before: String,
    pub load_after: String,
    pub commit: String,
}

impl Machine {
    pub fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kb: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            memory_gib: memory_kb / 1024.0 / 1024.0,
            dynamodb_local: std::env::var("DYNAMODB_LOCAL_VERSION")
                .unwrap_or_else(|_| "unknown".into()),
            load_before: load_average(),
            load_after: String::new(),
            commit: std::env::var("BENCH_COMMIT").unwrap_or_else(|_| "unknown".into()),
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{} cores ({}), {:.1} GiB memory, Linux; DynamoDB Local {}; load average (1, 5, 15 min) {} before, {} after; commit {}; {}",
            self.cores, self.cpu, self.memory_gib, self.dynamodb_local, self.load_before, self.load_after, self.commit, self.date
        )
    }
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".into())
}
