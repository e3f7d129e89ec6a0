//! Where the CPU time of a phase went: per process (`fstore serve`, the database server, this
//! load generator) and for the whole machine, from `/proc`.

/// Clock ticks per second of `/proc` (USER_HZ: 100 on every Linux build we run on).
const USER_HZ: f64 = 100.0;

/// CPU seconds (user + system) process `pid` has used so far.
fn process_cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at its closing paren.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / USER_HZ)
}

/// The database server's CPU seconds: summed over every `mariadbd`, `mysqld` or `postgres`
/// process in `/proc` (PostgreSQL runs one process per connection; the bench's connections stay
/// open through each phase, so their time is counted).
fn database_cpu_secs() -> Option<f64> {
    let pids: Vec<String> = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            matches!(comm.trim(), "mariadbd" | "mysqld" | "postgres").then_some(name)
        })
        .collect();
    (!pids.is_empty()).then(|| pids.iter().filter_map(|p| process_cpu_secs(p)).sum())
}

/// The machine's CPU seconds so far, summed over its cores: (busy, idle, all).
fn machine_cpu_secs() -> Option<(f64, f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let idle = (f.get(3)? + f.get(4).unwrap_or(&0)) as f64 / USER_HZ;
    let all = f.iter().take(8).sum::<u64>() as f64 / USER_HZ;
    Some((all - idle, idle, all))
}

/// CPU counters read at one instant (`/proc`; `None` fields where unreadable).
pub struct CpuSample {
    server: Option<f64>,
    db: Option<f64>,
    generator: Option<f64>,
    machine: Option<(f64, f64, f64)>,
}

/// CPU seconds spent during a phase, per process and by the whole machine.
#[derive(Clone, Copy)]
pub struct CpuUse {
    /// `fstore serve` (HTTP phases only).
    pub server: Option<f64>,
    /// MariaDB.
    pub db: Option<f64>,
    /// This load generator.
    pub generator: f64,
    /// The whole machine, busy.
    pub busy: f64,
    /// The whole machine, idle.
    pub idle: f64,
    /// The whole machine, all CPU time (cores × seconds).
    pub machine: f64,
}

impl CpuSample {
    /// Reads the counters of the server `server` (when given), MariaDB, this process and the machine.
    pub fn take(server: Option<u32>) -> Self {
        Self {
            server: server.and_then(|pid| process_cpu_secs(&pid.to_string())),
            db: database_cpu_secs(),
            generator: process_cpu_secs("self"),
            machine: machine_cpu_secs(),
        }
    }

    /// What was spent between `before` and this sample; `None` off Linux.
    pub fn since(&self, before: &CpuSample) -> Option<CpuUse> {
        let d = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
        let (busy, idle, all) = self.machine?;
        let (busy0, idle0, all0) = before.machine?;
        Some(CpuUse {
            server: d(self.server, before.server),
            db: d(self.db, before.db),
            generator: d(self.generator, before.generator)?,
            busy: busy - busy0,
            idle: idle - idle0,
            machine: all - all0,
        })
    }
}

impl CpuUse {
    pub fn plus(&self, o: &CpuUse) -> CpuUse {
        let add = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a + b);
        CpuUse {
            server: add(self.server, o.server),
            db: add(self.db, o.db),
            generator: self.generator + o.generator,
            busy: self.busy + o.busy,
            idle: self.idle + o.idle,
            machine: self.machine + o.machine,
        }
    }
}
