//! Short learner-visible strings of the explorer, each in English and Chinese.

use crate::i18n::Lang;

/// A fixed string in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr(pub &'static str, pub &'static str);

impl Tr {
    pub const fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.0,
            Lang::Zh => self.1,
        }
    }
}

/// Pick the string for `lang`.
pub const fn tr(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    Tr(en, zh).get(lang)
}

/// What a build without the host code (another OS, or `--no-default-features`) answers to
/// anything but `podlab replay`.
pub const REPLAY_ONLY_BUILD: Tr = Tr(
    "this build can only replay traces: building pods needs Linux and podlab built with its \
     \"host\" feature (the default); try podlab replay assets/traces/two-containers.trace.jsonl",
    "这个版本只能回放录制的 trace：构建 Pod 需要 Linux，并且 podlab 要带 \"host\" 特性编译（默认开启）；\
     可以试试 podlab replay assets/traces/two-containers.trace.jsonl",
);

pub const DONE: Tr = Tr("done", "已完成");
pub const CURRENT: Tr = Tr("next", "下一步");
pub const PENDING: Tr = Tr("pending", "待执行");
pub const BY_HAND: Tr = Tr("By hand", "手工命令");
pub const SYSCALLS: Tr = Tr("Syscalls", "系统调用");
pub const STEPS: Tr = Tr("Steps", "步骤");
pub const STEP: Tr = Tr("Step", "步骤");
pub const PROCESSES: Tr = Tr("Processes", "进程树");
pub const NAMESPACES: Tr = Tr("Namespaces", "命名空间");
pub const NETWORK: Tr = Tr("Network", "网络");
pub const CGROUPS: Tr = Tr("Cgroups", "cgroup 资源");
pub const EVENTS: Tr = Tr("Events", "事件");
pub const CONTAINER: Tr = Tr("container", "容器");
pub const NO_DATA: Tr = Tr("nothing read yet", "尚未读到数据");
pub const NOTHING_YET: Tr = Tr(
    "nothing here yet: run the next step (Space)",
    "这里还什么都没有：执行下一步（空格键）",
);
pub const ALL_DONE_TITLE: Tr = Tr("The pod is built", "Pod 已经建好");
pub const ALL_DONE: Tr = Tr(
    "Every step has run. The panels are live: pick a container with ↑/↓, open a shell in it (s), \
     read its logs (l), send it a signal (k) and watch what the kernel shows; r builds the pod \
     again from step 1.",
    "所有步骤都已执行。面板是实时的：用 ↑/↓ 选择容器，s 在容器里打开 shell，l 查看日志，\
     k 发送信号，观察内核显示的变化；r 从第 1 步重新创建 Pod。",
);
pub const RUNNING_STEP: Tr = Tr("running", "执行中");
pub const PULLING_IMAGE: Tr = Tr("pulling", "正在拉取");
pub const NEEDS_ROOT: Tr = Tr(
    "Building a pod here needs root (this machine does not let users make user namespaces): run sudo podlab explore. Until then: your own processes, read-only.",
    "在这里创建 Pod 需要 root（这台机器不允许普通用户创建 user 命名空间）：请运行 sudo podlab explore。在此之前：只读显示你自己的进程。",
);
pub const REPLAY_ONLY: Tr = Tr(
    "This is a replay: nothing runs here. Shells, logs, signals and rebuilding need a live pod (sudo podlab explore).",
    "这是回放：这里什么都没有运行。shell、日志、信号和重建需要真实的 Pod（sudo podlab explore）。",
);
pub const REPLAY: Tr = Tr("replay", "回放");
pub const AUTOPLAY: Tr = Tr("autoplay", "自动播放");
pub const PAUSED: Tr = Tr("paused", "已暂停");
pub const PAUSE: Tr = Tr("pause", "暂停");
pub const PLAY: Tr = Tr("play", "播放");
/// The title bar's mark while the panels are frozen.
pub const FROZEN: Tr = Tr("❄ frozen", "❄ 已冻结");
/// The freeze and zoom keys' words while they are on: what pressing them does then.
pub const UNFREEZE: Tr = Tr("unfreeze", "解冻");
pub const UNZOOM: Tr = Tr("all panels", "全部面板");
pub const CONFIRM_QUIT: Tr = Tr(
    "Quit? The pod is deleted (SIGTERM, grace period, SIGKILL). y: quit · n: stay",
    "退出？Pod 将被删除（SIGTERM、宽限期、SIGKILL）。y：退出 · n：留下",
);
pub const CONFIRM_QUIT_NO_POD: Tr = Tr("Quit? y: quit · n: stay", "退出？y：退出 · n：留下");
pub const DELETING: Tr = Tr(
    "Deleting the pod: SIGTERM to the containers, then SIGKILL after the grace period. q: kill now",
    "正在删除 Pod：先向容器发送 SIGTERM，宽限期过后发送 SIGKILL。q：立即杀死",
);
pub const RESTARTING: Tr = Tr(
    "Deleting the pod and building it again from step 1…",
    "正在删除 Pod，并从第 1 步重新创建…",
);
pub const NO_CONTAINER: Tr = Tr(
    "no container is selected (↑/↓), or it is not running yet",
    "没有选中容器（↑/↓），或者它还没有运行",
);
pub const SIGNAL_MENU: Tr = Tr("Send a signal to", "发送信号给");
pub const HELP: Tr = Tr("Keys", "按键");
pub const DESCRIBE: Tr = Tr("describe", "describe（描述）");
pub const LOGS: Tr = Tr("logs", "日志");
pub const CLOSE: Tr = Tr(
    "Esc: close · PgUp/PgDn: scroll",
    "Esc：关闭 · PgUp/PgDn：滚动",
);
pub const COMMAND_HELP: Tr = Tr(
    "exec [CONTAINER] [CMD…] · kill [SIGNAL] [CONTAINER] · describe · logs [CONTAINER] · step N",
    "exec [容器] [命令…] · kill [信号] [容器] · describe · logs [容器] · step N",
);
pub const LEGEND_NS: Tr = Tr(
    "= same as pause   * own   ? unreadable   + changed",
    "= 与 pause 相同   * 自己的   ? 读不到   + 刚变化",
);
pub const POD_IP: Tr = Tr("Pod IP", "Pod IP");
pub const LISTENING: Tr = Tr("Listening", "监听");
pub const INTERFACES: Tr = Tr("Interfaces", "网卡");
pub const NO_LISTENERS: Tr = Tr("no one listens on a port", "没有进程监听端口");
pub const NO_EVENTS: Tr = Tr("no events yet", "还没有事件");
pub const ZOMBIE: Tr = Tr("zombie, not yet reaped", "僵尸进程，尚未回收");
pub const NEW_PIDNS: Tr = Tr("⇣ new PID namespace", "⇣ 新的 PID 命名空间");
pub const HOST_PID: Tr = Tr("host PID [PID in the pod]", "主机 PID [Pod 内 PID]");
