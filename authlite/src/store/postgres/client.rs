//! One connection to PostgreSQL, driven from the calling thread: `tokio-postgres` on a
//! private current-thread runtime that runs only while a call waits (what the synchronous
//! `postgres` crate does, plus what it cannot: a deadline on every call, and several
//! statements sent before the first answer is read).
//!
//! Two guarantees live here:
//! - **Every call is bounded.** Each waits at most `postgres_timeout` for the server; a call
//!   that runs out leaves the connection in an unknown state, so it is marked broken and the
//!   pool drops it. Under that, TCP keepalives find a dead idle connection and
//!   `tcp_user_timeout` a dead busy one, and the server's own `statement_timeout` stops
//!   work nobody waits for.
//! - **Callable from async code.** Starting a runtime on a thread that is running one panics;
//!   on a multi-threaded runtime's worker the call runs under `block_in_place` (the worker's
//!   other tasks move to another thread), on a current-thread runtime on a scoped thread.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Connection, NoTls, Row, SimpleQueryMessage, Statement};

use super::tls::{self, Transport};
use crate::store::sql::Value;
use crate::values::error::{Error, ErrorKind, Result};

/// Where and how to connect, and how long any call may wait.
#[derive(Clone)]
pub(super) struct Settings {
    pub(super) config: tokio_postgres::Config,
    pub(super) transport: Transport,
    pub(super) timeout: Duration,
}

impl Settings {
    /// The settings for `url`, with every call bounded by `timeout`.
    pub(super) fn new(url: &str, timeout: Duration) -> Result<Settings> {
        let (mut config, transport) = tls::parse(url)?;
        config
            .connect_timeout(timeout)
            .keepalives(true)
            .keepalives_idle(timeout.min(Duration::from_secs(30)))
            .keepalives_interval(Duration::from_secs(5).min(timeout))
            .keepalives_retries(3)
            .tcp_user_timeout(timeout);
        Ok(Settings { config, transport, timeout })
    }

    /// These settings, connecting as `application_name` unless the URL named one (what
    /// `pg_stat_activity` shows).
    pub(super) fn named(&self, application_name: &str) -> Settings {
        let mut named = self.clone();
        if named.config.get_application_name().is_none() {
            named.config.application_name(application_name);
        }
        named
    }
}

/// One statement of a pipeline (see [`PgClient::pipeline`]), its arguments owned so that it
/// can wait in a queue.
pub(super) enum Step {
    /// Statements without parameters (simple protocol): their rows as text.
    Simple(&'static str),
    /// A prepared statement's rows.
    Query(Statement, Vec<Owned>),
    /// A prepared change statement: rows touched.
    Execute(Statement, Vec<Owned>),
}

/// What a [`Step`] gave.
pub(super) enum Answer {
    Text(Vec<Vec<Option<String>>>),
    Rows(Vec<Row>),
    Count(u64),
}

/// A [`Value`] that owns its bytes.
pub(super) enum Owned {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl Owned {
    pub(super) fn of(args: &[Value<'_>]) -> Vec<Owned> {
        args.iter()
            .map(|v| match *v {
                Value::Null => Owned::Null,
                Value::Int(i) => Owned::Int(i),
                Value::Text(t) => Owned::Text(t.to_owned()),
                Value::Blob(b) => Owned::Blob(b.to_vec()),
            })
            .collect()
    }

    fn value(&self) -> Value<'_> {
        match self {
            Owned::Null => Value::Null,
            Owned::Int(i) => Value::Int(*i),
            Owned::Text(t) => Value::Text(t),
            Owned::Blob(b) => Value::Blob(b),
        }
    }
}

/// A connected client.
pub(super) struct PgClient {
    client: tokio_postgres::Client,
    /// The connection's half (see [`drive`]), polled beside every call.
    connection: Wire,
    runtime: Driver,
    timeout: Duration,
    /// Wakes on each `NOTIFY` for a channel this connection listens to.
    notified: UnboundedReceiver<()>,
    /// A call ran out of time or the connection failed: never use it again.
    broken: bool,
}

impl PgClient {
    /// Connects (TLS as `settings` say) within the timeout.
    pub(super) fn connect(settings: &Settings) -> Result<PgClient> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::storage("cannot start the PostgreSQL client", e))?;
        let (wake, notified) = unbounded_channel();
        let config = &settings.config;
        let connect = async {
            Ok(match &settings.transport {
                Transport::Plain => {
                    let (client, connection) = config.connect(NoTls).await?;
                    (client, Wire::new(drive(connection, wake)))
                }
                Transport::Tls(tls) => {
                    let (client, connection) = config.connect(tls.clone()).await?;
                    (client, Wire::new(drive(connection, wake)))
                }
            })
        };
        let (client, connection) =
            match bounded(&runtime, &mut Wire(None), settings.timeout, connect) {
                Ok(Ok(client)) => client,
                Ok(Err(e)) => return Err(connect_error(settings, &tls::explain(&e))),
                Err(()) => return Err(connect_error(settings, "no answer in time")),
            };
        let runtime = Driver(Some(runtime));
        let mut client = PgClient {
            client,
            connection,
            runtime,
            timeout: settings.timeout,
            notified,
            broken: false,
        };
        let millis = settings.timeout.as_millis();
        client.batch(&format!("SET statement_timeout = {millis}"))?;
        Ok(client)
    }

    /// Runs one or more statements without parameters, in one round trip.
    pub(super) fn batch(&mut self, sql: &str) -> Result<()> {
        let done = bounded(
            self.runtime.get(),
            &mut self.connection,
            self.timeout,
            self.client.batch_execute(sql),
        );
        self.settle(done)
    }

    /// Like [`PgClient::batch`], returning the rows of text the statements gave.
    pub(super) fn simple(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let done = bounded(
            self.runtime.get(),
            &mut self.connection,
            self.timeout,
            self.client.simple_query(sql),
        );
        self.settle(done).map(text_rows)
    }

    pub(super) fn prepare(&mut self, sql: &str) -> Result<Statement> {
        let done = bounded(
            self.runtime.get(),
            &mut self.connection,
            self.timeout,
            self.client.prepare(sql),
        );
        self.settle(done)
    }

    /// Every row of one statement.
    pub(super) fn query(&mut self, statement: &Statement, args: &[Value<'_>]) -> Result<Vec<Row>> {
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        let done = bounded(
            self.runtime.get(),
            &mut self.connection,
            self.timeout,
            self.client.query(statement, &params),
        );
        self.settle(done)
    }

    /// Runs one change statement; how many rows it touched.
    pub(super) fn execute(&mut self, statement: &Statement, args: &[Value<'_>]) -> Result<u64> {
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        let done = bounded(
            self.runtime.get(),
            &mut self.connection,
            self.timeout,
            self.client.execute(statement, &params),
        );
        self.settle(done)
    }

    /// Sends every step before reading the first answer: one round trip for all of them.
    /// Their answers in order; the first error (a later step of a failed transaction only
    /// reports it aborted) fails the whole pipeline.
    pub(super) fn pipeline(&mut self, steps: &[Step]) -> Result<Vec<Answer>> {
        let values: Vec<Vec<Value<'_>>> = steps
            .iter()
            .map(|step| match step {
                Step::Query(_, args) | Step::Execute(_, args) => {
                    args.iter().map(Owned::value).collect()
                }
                Step::Simple(_) => Vec::new(),
            })
            .collect();
        let params: Vec<Vec<&(dyn ToSql + Sync)>> =
            values.iter().map(|args| args.iter().map(|a| a as _).collect()).collect();
        let client = &self.client;
        let futures: Vec<std::pin::Pin<Box<dyn Future<Output = PgResult<Answer>> + Send + '_>>> =
            steps
                .iter()
                .zip(&params)
                .map(|(step, params)| match step {
                    Step::Simple(sql) => Box::pin(async move {
                        let messages = client.simple_query(sql).await?;
                        Ok(Answer::Text(text_rows(messages)))
                    })
                        as std::pin::Pin<Box<dyn Future<Output = _> + Send + '_>>,
                    Step::Query(statement, _) => {
                        Box::pin(
                            async move { client.query(statement, params).await.map(Answer::Rows) },
                        )
                    }
                    Step::Execute(statement, _) => Box::pin(async move {
                        client.execute(statement, params).await.map(Answer::Count)
                    }),
                })
                .collect();
        let done =
            bounded(self.runtime.get(), &mut self.connection, self.timeout, join_in_order(futures));
        self.settle(done)
    }

    /// Waits up to `max` for a notification on a channel this connection listens to;
    /// whether one came. Several pending notifications count as one.
    pub(super) fn wait_notified(&mut self, max: Duration) -> Result<bool> {
        let notified = &mut self.notified;
        let woke = bounded(self.runtime.get(), &mut self.connection, max, async {
            let woke = notified.recv().await.is_some();
            while notified.try_recv().is_ok() {}
            woke
        });
        match woke {
            Ok(true) => Ok(true),
            Err(()) if !self.client.is_closed() => Ok(false),
            // The channel closes when the connection ends.
            _ => {
                self.broken = true;
                Err(Error::new(ErrorKind::Storage, "the PostgreSQL connection closed"))
            }
        }
    }

    /// The connection failed or a call ran out of time: the pool must drop it.
    pub(super) fn is_broken(&self) -> bool {
        self.broken || self.client.is_closed()
    }

    /// Marks the connection as not to be used again.
    pub(super) fn set_broken(&mut self) {
        self.broken = true;
    }

    fn settle<T>(
        &mut self,
        done: std::result::Result<std::result::Result<T, tokio_postgres::Error>, ()>,
    ) -> Result<T> {
        match done {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if self.client.is_closed() {
                    self.broken = true;
                }
                Err(e.into())
            }
            Err(()) => {
                self.broken = true;
                Err(Error::new(
                    ErrorKind::Storage,
                    format!(
                        "the PostgreSQL server did not answer within {:?} (Config::postgres_timeout)",
                        self.timeout
                    ),
                ))
            }
        }
    }
}

/// The connection's runtime. Dropping a runtime the usual way blocks, which panics inside
/// async code (where the pool may drop a connection); this one is shut down without
/// waiting, which is safe anywhere: nothing of ours runs on it between calls.
struct Driver(Option<Runtime>);

impl Driver {
    fn get(&self) -> &Runtime {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

fn connect_error(settings: &Settings, cause: &str) -> Error {
    let hosts: Vec<String> = settings
        .config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let mode = match settings.transport {
        Transport::Plain => "without TLS",
        Transport::Tls(_) => "over TLS",
    };
    Error::new(
        ErrorKind::Storage,
        format!("cannot connect to PostgreSQL at {} {mode}: {cause}", hosts.join(",")),
    )
}

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

/// The rows of a simple query, as text.
fn text_rows(messages: Vec<SimpleQueryMessage>) -> Vec<Vec<Option<String>>> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

/// Polls every future (each sends its request when first polled) until all are done; their
/// outputs in order, or the first error in order.
async fn join_in_order<'a, T>(
    mut futures: Vec<std::pin::Pin<Box<dyn Future<Output = PgResult<T>> + Send + 'a>>>,
) -> PgResult<Vec<T>> {
    let mut outputs: Vec<Option<PgResult<T>>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(done) => *output = Some(done),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future completed")).collect()
}

/// The connection's half of a client, polled in the same future as each call (no task
/// of its own, so no scheduler hop per round trip); `None` once it ended.
struct Wire(Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>);

impl Wire {
    fn new(drive: impl Future<Output = ()> + Send + 'static) -> Wire {
        Wire(Some(Box::pin(drive)))
    }

    fn poll(&mut self, cx: &mut std::task::Context<'_>) {
        if let Some(drive) = self.0.as_mut()
            && drive.as_mut().poll(cx).is_ready()
        {
            self.0 = None;
        }
    }
}

/// Runs `future` to completion on `runtime`, driving `wire` beside it, or gives up after
/// `limit`.
fn bounded<F>(
    runtime: &Runtime,
    wire: &mut Wire,
    limit: Duration,
    future: F,
) -> std::result::Result<F::Output, ()>
where
    F: Future + Send,
    F::Output: Send,
{
    off_executor(|| {
        runtime.block_on(async {
            let mut future = std::pin::pin!(future);
            let both = std::future::poll_fn(|cx| {
                // The call first (it queues its request), then the wire (it sends what is
                // queued and reads answers), then the call again (to take its answer).
                if let Poll::Ready(out) = future.as_mut().poll(cx) {
                    return Poll::Ready(out);
                }
                wire.poll(cx);
                future.as_mut().poll(cx)
            });
            tokio::time::timeout(limit, both).await
        })
    })
    .map_err(|_| ())
}

/// Runs `f`, which blocks, where blocking cannot panic (see the module's doc).
fn off_executor<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match Handle::try_current() {
        Err(_) => f(),
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        Ok(_) => std::thread::scope(|scope| match scope.spawn(f).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// The connection's half: reads and writes the socket while a call waits, passing on
/// notifications; ends when the connection does.
async fn drive<S, T>(mut connection: Connection<S, T>, wake: UnboundedSender<()>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    std::future::poll_fn(|cx| {
        loop {
            match connection.poll_message(cx) {
                Poll::Ready(Some(Ok(AsyncMessage::Notification(_)))) => {
                    let _ = wake.send(());
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
}
