//! An interactive session on one host over an open [`SshSession`]: a login
//! shell or one command, with a pty or without, the user's bytes in, the
//! host's output out, window size changes passed on. What the local side
//! does (raw mode, reading the keyboard, SIGWINCH) lives in `crate::shell`;
//! this file only speaks SSH.

use bytes::Bytes;
use russh::ChannelMsg;
use tokio::sync::mpsc;

use super::ssh::{SshSession, signal_label};
use super::{Exit, OutputStream};

/// The pseudo-terminal asked for: `TERM` and the local window's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtySize {
    pub term: String,
    pub cols: u16,
    pub rows: u16,
}

/// What to start on the host.
#[derive(Debug, Clone, Default)]
pub struct ShellRequest {
    /// `None`: the user's login shell; `Some`: this command line, as `ssh HOST CMD` runs it.
    pub command: Option<String>,
    /// `None`: no pty (output keeps stdout and stderr apart).
    pub pty: Option<PtySize>,
}

/// What the local side sends while the session runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellInput {
    Data(Bytes),
    /// The local window now has this size.
    Resize {
        cols: u16,
        rows: u16,
    },
    /// The local input ended (a pipe closed): the host's stdin ends too.
    Eof,
    /// Stop now (jobdeck was told to end): the channel is closed.
    Hangup,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellEnd {
    /// The host reported how its command ended.
    Exited(Exit),
    /// The channel closed without an exit status (the connection dropped,
    /// or the local side hung up).
    Closed(String),
}

impl SshSession {
    /// Opens a session channel, asks for the pty if any, starts the shell or
    /// the command, and carries bytes both ways until the channel closes.
    /// `output` gets every byte the host prints, as it arrives.
    pub async fn interact(
        &self,
        request: &ShellRequest,
        mut input: mpsc::Receiver<ShellInput>,
        output: &mut (dyn FnMut(OutputStream, &[u8]) + Send),
    ) -> ShellEnd {
        let channel = match self.handle().channel_open_session().await {
            Ok(channel) => channel,
            Err(err) => return ShellEnd::Closed(format!("the host refused a session: {err}")),
        };
        if let Some(pty) = &request.pty
            && let Err(err) = channel
                .request_pty(
                    false,
                    &pty.term,
                    u32::from(pty.cols),
                    u32::from(pty.rows),
                    0,
                    0,
                    &[],
                )
                .await
        {
            return ShellEnd::Closed(format!("asking for a terminal failed: {err}"));
        }
        let started = match &request.command {
            Some(command) => channel.exec(true, command.as_bytes()).await,
            None => channel.request_shell(true).await,
        };
        if let Err(err) = started {
            return ShellEnd::Closed(format!("starting the session failed: {err}"));
        }
        let (mut reader, writer) = channel.split();
        let mut exit: Option<Exit> = None;
        let mut input_open = true;
        let mut refused = false;
        loop {
            tokio::select! {
                message = reader.wait() => match message {
                    None | Some(ChannelMsg::Close) => break,
                    Some(ChannelMsg::Data { data }) => output(OutputStream::Stdout, &data),
                    Some(ChannelMsg::ExtendedData { data, .. }) => output(OutputStream::Stderr, &data),
                    Some(ChannelMsg::ExitStatus { exit_status }) => exit = Some(Exit::Code(exit_status)),
                    Some(ChannelMsg::ExitSignal { signal_name, core_dumped, .. }) => {
                        exit = Some(Exit::Signal { name: signal_label(&signal_name), core_dumped });
                    }
                    Some(ChannelMsg::Failure) => refused = true,
                    Some(_) => {}
                },
                message = input.recv(), if input_open => match message {
                    Some(ShellInput::Data(bytes)) => {
                        // A host that stopped reading holds this up: so does ssh.
                        let _ = writer.data_bytes(bytes).await;
                    }
                    Some(ShellInput::Resize { cols, rows }) => {
                        let _ = writer.window_change(u32::from(cols), u32::from(rows), 0, 0).await;
                    }
                    Some(ShellInput::Eof) | None => {
                        input_open = false;
                        let _ = writer.eof().await;
                    }
                    Some(ShellInput::Hangup) => {
                        let _ = writer.close().await;
                        return ShellEnd::Closed("the session was ended by a signal to jobdeck".into());
                    }
                },
            }
        }
        match exit {
            Some(exit) => ShellEnd::Exited(exit),
            None if refused => ShellEnd::Closed("the host refused to start the session".into()),
            None if self.is_closed() => {
                ShellEnd::Closed("the connection was lost during the session".into())
            }
            None => ShellEnd::Closed("the host reported no exit status".into()),
        }
    }
}
