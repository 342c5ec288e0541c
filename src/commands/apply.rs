//! `dehandler apply`: applies one label value to a network namespace now, or a running
//! container's dehandler labels again.
//!
//! A value is parsed whole before anything is applied, as the plugin does. Each segment then
//! prints one line, `ok: ip …` or `error: …`, and a kernel error on one segment does not stop
//! the next.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use bollard::Docker;
use bollard::query_parameters::InspectContainerOptions;
use clap::{ArgAction, Args};
use nix::errno::Errno;
use thiserror::Error;

use dehandler::iproute::{self, Object, Request};
use dehandler::labels::{self, LabelPlan, Limits};
use dehandler::netlink::{self, Outcome};
use dehandler::netns::{self, Namespace, NetnsError};
use dehandler::policy;

/// How long an Engine API request may wait for its response headers, in seconds.
const API_TIMEOUT_SECS: u64 = 30;

/// Arguments of `dehandler apply`.
#[derive(Debug, Args)]
#[command(after_help = "\
With OBJECT and VALUE, an add of something already there and a delete of something already \
gone are errors, as with ip (\"File exists\"). With --container, the address, route and \
rule labels apply in the container's network namespace, in that order, as the plugin applies \
them when the container starts, and an add of something already there and a delete of \
something already gone count as done. Labels inherited unchanged from the image are skipped \
unless TRUST_IMAGE_LABELS=true. host-route labels are skipped: the plugin applies them under \
its HOST_ROUTES policy and removes them when the container stops. The start script does not \
run.

Exit status: 0 when every segment succeeded, 1 otherwise; a value with a segment that does \
not parse changes nothing.")]
pub struct ApplyArgs {
    /// The object of VALUE: address, route or rule
    #[arg(required_unless_present = "container", conflicts_with = "container")]
    object: Option<Object>,

    /// The label value: `ip OBJECT` argument tails separated by `;` or newlines, for example
    /// 'add 10.0.5.0/24 via 172.30.0.1; del default'
    #[arg(required_unless_present = "container", conflicts_with = "container")]
    value: Option<String>,

    /// Network namespace file to apply VALUE in, such as /run/netns/NAME. Without --netns
    /// and --pid, VALUE applies in the current network namespace
    #[arg(long, value_name = "PATH", conflicts_with = "pid")]
    netns: Option<PathBuf>,

    /// Process whose network namespace VALUE applies in (/proc/PID/ns/net)
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,

    /// Running container whose dehandler labels to apply again, by name or id
    #[arg(long, value_name = "NAME|ID", conflicts_with_all = ["netns", "pid"])]
    container: Option<String>,

    /// Prefix of the label keys: labels are PREFIX.address, PREFIX.route, PREFIX.rule and
    /// PREFIX.host-route
    #[arg(long, env = "LABEL_PREFIX", default_value = "docker-events")]
    label_prefix: String,

    /// With --container, also apply dehandler labels that the container inherited unchanged
    /// from its image (true or false)
    #[arg(long, env = "TRUST_IMAGE_LABELS", default_value_t = false, action = ArgAction::Set)]
    trust_image_labels: bool,

    /// Maximum size of one label value, in bytes
    #[arg(long, env = "MAX_LABEL_BYTES", default_value_t = Limits::default().max_bytes)]
    max_label_bytes: usize,

    /// Maximum number of segments in one label value
    #[arg(long, env = "MAX_SEGMENTS", default_value_t = Limits::default().max_segments)]
    max_segments: usize,

    /// Docker Engine API endpoint, a unix socket: unix:///PATH or /PATH
    #[arg(
        long,
        env = "DOCKER_HOST",
        default_value = "unix:///var/run/docker.sock"
    )]
    docker_host: String,
}

/// Failures that stop `apply` before any segment runs.
#[derive(Debug, Error)]
enum ApplyCommandError {
    #[error("OBJECT and VALUE are required without --container")]
    Usage,

    #[error("{0}; nothing was applied")]
    Parse(iproute::ParseError),

    #[error("the value has no segments; nothing was applied")]
    Empty,

    #[error("{0}")]
    Namespace(#[from] NetnsError),

    #[error("failed to start the async runtime: {0}")]
    Runtime(std::io::Error),

    #[error("invalid DOCKER_HOST {0:?}: only a unix socket (unix:///PATH or /PATH) is supported")]
    DockerHost(String),

    #[error("failed to connect to the Engine API at {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: bollard::errors::Error,
    },

    #[error("failed to inspect container {container:?}: {source}")]
    Inspect {
        container: String,
        source: bollard::errors::Error,
    },

    #[error(
        "failed to inspect image {image} for its labels: {source}; without them no label can be \
         told from an inherited one (set TRUST_IMAGE_LABELS=true to skip this check)"
    )]
    InspectImage {
        image: String,
        source: bollard::errors::Error,
    },

    #[error("container {0} is not running")]
    NotRunning(String),

    #[error(
        "container {container} has no network namespace of its own (network mode {mode}), so \
         the plugin skips it too"
    )]
    NoNamespace { container: String, mode: String },

    #[error("container {0} was restarted while its network namespace was opened; run apply again")]
    Restarted(String),
}

/// Runs `dehandler apply` and returns its exit status.
pub fn run(args: ApplyArgs) -> ExitCode {
    super::init_logging("warn");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ApplyCommandError::Runtime);
    let result = runtime.and_then(|runtime| {
        runtime.block_on(async {
            match (&args.container, args.object, args.value.as_deref()) {
                (Some(container), _, _) => apply_container(&args, container).await,
                (None, Some(object), Some(value)) => apply_value(&args, object, value).await,
                _ => Err(ApplyCommandError::Usage),
            }
        })
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Applies OBJECT VALUE and returns true when every segment succeeded.
async fn apply_value(
    args: &ApplyArgs,
    object: Object,
    value: &str,
) -> Result<bool, ApplyCommandError> {
    let requests = iproute::parse_value(object, value).map_err(ApplyCommandError::Parse)?;
    if requests.is_empty() {
        return Err(ApplyCommandError::Empty);
    }

    let path = match (&args.netns, args.pid) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(pid)) => Some(PathBuf::from(format!("/proc/{pid}/ns/net"))),
        (None, None) => None,
    };
    let handle = match &path {
        Some(path) => Namespace::open(path)?.connect().await?,
        None => netns::connect_current().await?,
    };

    let mut all_ok = true;
    for request in &requests {
        let line = match netlink::apply(&handle, request).await {
            Ok(Outcome::Applied) => format!("ok: {request}"),
            Ok(outcome) => {
                all_ok = false;
                format!("error: {}", done_already(request, outcome))
            }
            Err(error) => {
                all_ok = false;
                format!("error: {error}")
            }
        };
        println!("{line}");
    }
    Ok(all_ok)
}

/// Describes an add of an object already there, or a delete of one already gone, with the
/// errno iproute2 would print.
fn done_already(request: &Request, outcome: Outcome) -> String {
    let object = request.object();
    let (errno, state) = match (outcome, object) {
        (Outcome::AlreadyPresent, _) => (Errno::EEXIST, "already present"),
        (_, Object::Address) => (Errno::EADDRNOTAVAIL, "not present"),
        (_, Object::Route) => (Errno::ESRCH, "not present"),
        (_, Object::Rule) => (Errno::ENOENT, "not present"),
    };
    let description = errno.desc();
    let mut chars = description.chars();
    let description = match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    };
    format!("{request}: {description} (the {object} is {state})")
}

/// Applies a running container's labels again and returns true when all succeeded.
async fn apply_container(args: &ApplyArgs, container: &str) -> Result<bool, ApplyCommandError> {
    let docker = connect_docker(&args.docker_host).await?;
    let inspected = inspect(&docker, container).await?;

    let mut labels = inspected.labels.clone();
    if !args.trust_image_labels {
        let image_labels = image_labels(&docker, &inspected).await?;
        for key in policy::drop_image_labels(&mut labels, &image_labels, &args.label_prefix) {
            println!(
                "{key}: skipped: the container inherited it unchanged from its image \
                 (set TRUST_IMAGE_LABELS=true to apply such labels)"
            );
        }
    }

    let limits = Limits {
        max_bytes: args.max_label_bytes,
        max_segments: args.max_segments,
    };
    let plans = labels::plan(&labels, &args.label_prefix, limits);
    let mut all_ok = true;
    let mut container_plans = Vec::new();
    for plan in &plans {
        match &plan.segments {
            Err(error) => {
                println!("{}: error: {error}; the label was not applied", plan.key);
                all_ok = false;
            }
            Ok(_) if plan.kind.on_host() => println!(
                "{}: skipped: host routes are applied only by the plugin, which checks them \
                 against HOST_ROUTES and removes them when the container stops",
                plan.key
            ),
            Ok(_) => container_plans.push(plan),
        }
    }
    if plans.is_empty() {
        println!(
            "container {} has no {}.* labels to apply",
            inspected.name, args.label_prefix
        );
    }
    if container_plans.is_empty() {
        return Ok(all_ok);
    }

    let namespace = Namespace::open(format!("/proc/{}/ns/net", inspected.pid))?;
    // The PID could belong to another process by now if the container restarted between the
    // inspect and the open.
    let again = inspect(&docker, &inspected.id).await?;
    if again.pid != inspected.pid || again.started_at != inspected.started_at {
        return Err(ApplyCommandError::Restarted(inspected.name));
    }
    let handle = namespace.connect().await?;
    all_ok &= apply_plans(&handle, &container_plans).await;
    Ok(all_ok)
}

/// Applies the segments of labels in order, as the plugin does: an add of something already
/// there and a delete of something already gone count as done.
async fn apply_plans(handle: &netlink::Netlink, plans: &[&LabelPlan]) -> bool {
    let mut all_ok = true;
    for plan in plans {
        let Ok(segments) = &plan.segments else {
            continue;
        };
        for segment in segments {
            let request = &segment.request;
            let line = match netlink::apply(handle, request).await {
                Ok(Outcome::Applied) => format!("ok: {request}"),
                Ok(Outcome::AlreadyPresent) => format!("ok: {request} (already present)"),
                Ok(Outcome::AlreadyAbsent) => format!("ok: {request} (already absent)"),
                Err(error) => {
                    all_ok = false;
                    format!("error: {error}")
                }
            };
            println!("{} segment {}: {line}", plan.key, segment.position);
        }
    }
    all_ok
}

/// Returns the labels of the container's image.
async fn image_labels(
    docker: &Docker,
    container: &Inspected,
) -> Result<HashMap<String, String>, ApplyCommandError> {
    let Some(image) = &container.image else {
        return Ok(HashMap::new());
    };
    let found =
        docker
            .inspect_image(image)
            .await
            .map_err(|source| ApplyCommandError::InspectImage {
                image: image.clone(),
                source,
            })?;
    Ok(found
        .config
        .and_then(|config| config.labels)
        .unwrap_or_default())
}

/// The inspected state of a container that `apply --container` uses.
struct Inspected {
    id: String,
    /// The name without Docker's leading `/`.
    name: String,
    pid: i64,
    started_at: String,
    /// The image id, used to tell labels set on the container from labels of its image.
    image: Option<String>,
    labels: HashMap<String, String>,
}

async fn connect_docker(docker_host: &str) -> Result<Docker, ApplyCommandError> {
    let path = match docker_host.strip_prefix("unix://") {
        Some(path) => path,
        None if docker_host.starts_with('/') => docker_host,
        None => return Err(ApplyCommandError::DockerHost(docker_host.to_string())),
    };
    let connect_error = |source| ApplyCommandError::Connect {
        endpoint: docker_host.to_string(),
        source,
    };
    let docker = Docker::connect_with_unix(path, API_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        .map_err(connect_error)?;
    // bollard requests its newest API version by default, which an older daemon rejects.
    docker.negotiate_version().await.map_err(connect_error)
}

async fn inspect(docker: &Docker, container: &str) -> Result<Inspected, ApplyCommandError> {
    let response = docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .await
        .map_err(|source| ApplyCommandError::Inspect {
            container: container.to_string(),
            source,
        })?;
    let name = response
        .name
        .as_deref()
        .unwrap_or(container)
        .trim_start_matches('/')
        .to_string();

    let state = response.state.unwrap_or_default();
    let pid = state.pid.unwrap_or(0);
    if state.running != Some(true) || pid <= 0 {
        return Err(ApplyCommandError::NotRunning(name));
    }
    let mode = response
        .host_config
        .and_then(|config| config.network_mode)
        .unwrap_or_default();
    if mode == "host" || mode == "none" || mode.starts_with("container:") {
        return Err(ApplyCommandError::NoNamespace {
            container: name,
            mode,
        });
    }

    Ok(Inspected {
        id: response.id.unwrap_or_else(|| container.to_string()),
        name,
        pid,
        started_at: state.started_at.unwrap_or_default(),
        image: response.image,
        labels: response
            .config
            .and_then(|config| config.labels)
            .unwrap_or_default(),
    })
}
