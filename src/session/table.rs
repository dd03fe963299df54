//! The connection table of the session layer: recognises MQTT on each TCP connection, frames
//! both directions, decodes with the connection's version and emits events in capture order.

use super::convert::{malformed_info, packet_info_into, ConvertOptions};
use super::pool::{InfoPool, Spare};
use super::rules::direction_allowed;
use super::state::{At, ConnState};
use super::storm::{on_connack as out_storm, Streak};
use crate::capture::Ts;
use crate::event::{Anomaly, ConnLabel, Event, EventKind, Outcome, PacketInfo};
use crate::mqtt::detect::{looks_like_mqtt, Detection};
use crate::mqtt::error::DecodeErrorKind;
use crate::mqtt::framer::{FrameEvent, Framer, RawPacket, Sender};
use crate::mqtt::packet::decode;
use crate::mqtt::reason::Catalogue;
use crate::mqtt::types::{PacketType, Version};
use crate::mqtt::version::infer;
use crate::tcp::{ConnId, ConnInfo, Dir, GapReason, OrientedBy, StreamEvent, TcpAnomaly};
use foldhash::fast::RandomState as FastState;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Data chunks of a connection examined by content detection before it is given up as not MQTT.
const DETECT_CHUNKS: u8 = 8;
/// Bytes of undecided data held for replay once a connection is recognised as MQTT.
const MAX_HELD_BYTES: usize = 64 * 1024;
/// Gaps of an undecided connection held for replay (later ones are not replayed).
const MAX_HELD_GAPS: usize = 16;
/// Chunks remembered per direction to date packets held across chunks (see [`Origins`]).
const MAX_ORIGINS: usize = 64;
/// Estimated bytes of one in-flight table entry (key, value and hash table overhead).
const INFLIGHT_COST: usize = 96;
/// Smallest packet cap under memory pressure, so that short control packets still decode.
const MIN_PRESSURE_CAP: usize = 256;
/// Server endpoints learnt as MQTT (a CONNECT was seen), remembered for mid-stream connections.
const MAX_LEARNT_SERVERS: usize = 4096;

/// Settings of the session layer.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// TCP ports taken as MQTT without content detection.
    pub ports: Vec<u16>,
    /// Version for connections whose CONNECT was not captured.
    pub assume_version: Option<Version>,
    /// What to copy into events.
    pub convert: ConvertOptions,
    /// Largest MQTT packet decoded.
    pub max_packet: usize,
    /// In-flight requests tracked per connection.
    pub max_inflight: usize,
    /// Bytes that framers, undecided connections and in-flight tables may hold across all
    /// connections (`Limits::framer_budget`); under pressure the caps are lowered.
    pub memory_budget: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            ports: vec![1883],
            assume_version: None,
            convert: ConvertOptions::default(),
            max_packet: 1 << 20,
            max_inflight: 65_535,
            memory_budget: crate::limits::Limits::default().framer_budget(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Undecided,
    Mqtt,
    Tls,
    NotMqtt,
}

struct Conn {
    info: ConnInfo,
    kind: Kind,
    tries: u8,
    exact: u8,
    /// Chunks examined before the decision, and gaps met meanwhile, replayed in order once it
    /// is MQTT.
    held: Vec<Held>,
    held_bytes: usize,
    /// Whether the first data chunk started the stream (offset 0 after a captured SYN, or a
    /// CONNECT).
    clean_start: Option<bool>,
    swapped: bool,
    /// The caps are lowered below the configured ones (memory pressure).
    lowered: bool,
    label: Arc<ConnLabel>,
    framers: [Framer; 2],
    origins: [Origins; 2],
    state: ConnState,
}

/// What happened on a connection before it was recognised as MQTT.
enum Held {
    /// In-order bytes of one direction: (direction, time, frame, bytes).
    Data(Dir, Ts, u64, Vec<u8>),
    /// Lost bytes of one direction, as the stream event told them.
    Gap(GapEvent),
}

/// A gap of one direction of a connection (the fields of `StreamEvent::Gap`).
#[derive(Clone, Copy)]
struct GapEvent {
    dir: Dir,
    ts: Ts,
    frame: u64,
    offset: u64,
    len: u64,
    reason: GapReason,
}

impl Held {
    /// Time and frame of what was held.
    fn at(&self) -> (Ts, u64) {
        match self {
            Held::Data(_, ts, frame, _) => (*ts, *frame),
            Held::Gap(g) => (g.ts, g.frame),
        }
    }
}

/// Where the bytes a framer still holds came from: (stream end offset, ts, frame) of each
/// chunk. A packet is dated by the chunk that brought its last byte, not by the chunk that let
/// the framer decide (after a gap, resync holds whole packets until the next header arrives).
#[derive(Default)]
struct Origins(Vec<(u64, Ts, u64)>);

impl Origins {
    /// Records a chunk ending at stream offset `end`.
    fn push(&mut self, end: u64, ts: Ts, frame: u64) {
        if self.0.len() >= MAX_ORIGINS {
            self.0.remove(0);
        }
        self.0.push((end, ts, frame));
    }

    /// Forgets chunks whose bytes the framer no longer holds (all before `held_from`).
    fn trim(&mut self, held_from: u64) {
        let keep = self.0.iter().position(|o| o.0 > held_from);
        match keep {
            None => self.0.clear(),
            Some(0) => {}
            Some(i) => {
                self.0.drain(..i);
            }
        }
    }

    /// Ts and frame of the chunk holding stream byte `end - 1`, else `fallback`.
    fn date(&self, end: u64, fallback: (Ts, u64)) -> (Ts, u64) {
        self.0
            .iter()
            .find(|o| o.0 >= end)
            .map_or(fallback, |o| (o.1, o.2))
    }
}

/// Stream offset just past the last byte an event covers.
fn event_end(fe: &FrameEvent<'_>) -> u64 {
    match fe {
        FrameEvent::Packet(raw) => raw.offset + raw.header.total_len(),
        FrameEvent::Oversize { offset, .. } => *offset + 1,
        FrameEvent::Skipped { offset, len, .. } => *offset + *len,
        FrameEvent::Malformed { offset, .. } => *offset + 1,
    }
}

/// Everything the packet handler needs besides the connection.
struct Ctx<'c> {
    cfg: &'c SessionConfig,
    catalogue: &'c Catalogue,
    next_event: &'c mut u64,
    streaks: &'c mut HashMap<String, Streak, FastState>,
    spare: &'c mut Spare,
}

/// What the data handler needs besides the connection.
struct Run<'c> {
    ctx: Ctx<'c>,
    learnt: &'c mut HashSet<SocketAddr, FastState>,
    mqtt_connections: &'c mut u64,
    mem_total: usize,
}

/// Per-connection MQTT analysis for the whole run (on cache lines of its own: another thread
/// may read and reassemble frames right next to it).
#[repr(align(128))]
pub struct Sessions {
    cfg: SessionConfig,
    catalogue: Arc<Catalogue>,
    conns: HashMap<ConnId, Conn, FastState>,
    next_event: u64,
    streaks: HashMap<String, Streak, FastState>,
    mqtt_connections: u64,
    learnt: HashSet<SocketAddr, FastState>,
    /// Bytes held by all connections' framers, undecided data and in-flight tables.
    mem_total: usize,
    /// Data events handled under memory pressure (caps lowered).
    budget_hits: u64,
    /// Boxes for packet events, recycled when an output stage hands them back.
    spare: Spare,
}

fn make_event(
    next: &mut u64,
    ts: Ts,
    frame: u64,
    label: &Arc<ConnLabel>,
    dir: Option<Dir>,
    kind: EventKind,
    anomalies: Vec<Anomaly>,
) -> Event {
    let id = *next;
    *next += 1;
    Event {
        id,
        ts,
        frame_no: frame,
        conn: Arc::clone(label),
        dir,
        kind,
        anomalies,
    }
}

impl Sessions {
    /// A session layer with this configuration and reason-code catalogue.
    pub fn new(cfg: SessionConfig, catalogue: Arc<Catalogue>) -> Self {
        Sessions {
            cfg,
            catalogue,
            conns: HashMap::default(),
            next_event: 0,
            streaks: HashMap::default(),
            mqtt_connections: 0,
            learnt: HashSet::default(),
            mem_total: 0,
            budget_hits: 0,
            spare: Spare::default(),
        }
    }

    /// Packet events' boxes come from `pool`, where the output side recycles them.
    pub fn set_info_pool(&mut self, pool: InfoPool) {
        self.spare.set_pool(pool);
    }

    /// Bytes held right now by framers, undecided data and in-flight tables.
    pub fn memory_held(&self) -> usize {
        self.mem_total
    }

    /// Data events handled under memory pressure: packet and in-flight caps were lowered, or
    /// an undecided connection was given up, to stay under `SessionConfig::memory_budget`.
    pub fn budget_hits(&self) -> u64 {
        self.budget_hits
    }

    /// Handles one stream event, emitting zero or more events, keeping the memory held by
    /// all connections under the budget.
    pub fn on_stream(&mut self, se: StreamEvent<'_>, emit: &mut dyn FnMut(Event)) {
        if let StreamEvent::Data {
            conn,
            dir,
            ts,
            frame_no,
            offset,
            bytes,
        } = se
        {
            // The common case, with one table lookup for the memory accounting and the data.
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let before = c.mem();
            if pressure(c, &self.cfg, self.mem_total, before, bytes.len()) {
                self.budget_hits += 1;
            }
            let mut run = Run {
                ctx: Ctx {
                    cfg: &self.cfg,
                    catalogue: &self.catalogue,
                    next_event: &mut self.next_event,
                    streaks: &mut self.streaks,
                    spare: &mut self.spare,
                },
                learnt: &mut self.learnt,
                mqtt_connections: &mut self.mqtt_connections,
                mem_total: self.mem_total,
            };
            on_data(c, &mut run, dir, ts, frame_no, offset, bytes, emit);
            let after = c.mem();
            self.mem_total = (self.mem_total + after).saturating_sub(before);
            return;
        }
        let id = match se {
            StreamEvent::Open(info) => info.id,
            StreamEvent::Data { conn, .. }
            | StreamEvent::Gap { conn, .. }
            | StreamEvent::Anomaly { conn, .. }
            | StreamEvent::Close { conn, .. } => conn,
        };
        let before = self.conns.get(&id).map_or(0, Conn::mem);
        self.handle(se, emit);
        let after = self.conns.get(&id).map_or(0, Conn::mem);
        self.mem_total = (self.mem_total + after).saturating_sub(before);
    }

    /// Connections recognised as MQTT (or TLS on an MQTT port) so far.
    pub fn mqtt_connections(&self) -> u64 {
        self.mqtt_connections
    }

    /// Handles one stream event, emitting zero or more events.
    fn handle(&mut self, se: StreamEvent<'_>, emit: &mut dyn FnMut(Event)) {
        match se {
            StreamEvent::Open(info) => {
                let label = Arc::new(ConnLabel {
                    id: info.id,
                    client: info.client,
                    server: info.server,
                    client_id: None,
                    version: self.cfg.assume_version,
                });
                let state = ConnState::new(
                    self.cfg.assume_version,
                    info.oriented_by == OrientedBy::Syn,
                    self.cfg.max_inflight,
                );
                let mut conn = Conn {
                    info,
                    kind: Kind::Undecided,
                    tries: 0,
                    exact: 0,
                    held: Vec::new(),
                    held_bytes: 0,
                    clean_start: None,
                    swapped: false,
                    lowered: false,
                    label,
                    framers: [new_framer(&self.cfg), new_framer(&self.cfg)],
                    origins: Default::default(),
                    state,
                };
                if info.oriented_by == OrientedBy::Syn {
                    // Sides are certain: resync refuses types a side never sends.
                    conn.framers[Dir::ToServer.index()].set_sender(Some(Sender::Client));
                    conn.framers[Dir::ToClient.index()].set_sender(Some(Sender::Server));
                }
                self.conns.insert(info.id, conn);
            }
            StreamEvent::Data { .. } => {}
            StreamEvent::Gap {
                conn,
                dir,
                ts,
                frame_no,
                offset,
                len,
                reason,
            } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                let g = GapEvent {
                    dir,
                    ts,
                    frame: frame_no,
                    offset,
                    len,
                    reason,
                };
                match c.kind {
                    Kind::Mqtt => on_gap(c, &mut self.next_event, g, emit),
                    // Lost before the decision (a CONNECT never captured): replayed with the
                    // data, so that the framer and the session know what is missing.
                    Kind::Undecided => {
                        let gaps = c.held.iter().filter(|h| matches!(h, Held::Gap(_))).count();
                        if gaps < MAX_HELD_GAPS {
                            c.held.push(Held::Gap(g));
                        }
                    }
                    Kind::Tls | Kind::NotMqtt => {}
                }
            }
            StreamEvent::Anomaly {
                conn,
                dir,
                ts,
                frame_no,
                kind,
            } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                if c.kind != Kind::Mqtt {
                    return;
                }
                let a = match kind {
                    TcpAnomaly::OverlapMismatch { .. } => Anomaly::TcpOverlapMismatch,
                    TcpAnomaly::BufferCap => {
                        Anomaly::CapHit("TCP bytes buffered per direction (--max-buffer)")
                    }
                    TcpAnomaly::BudgetCap => Anomaly::CapHit(
                        "memory budget: TCP reassembly of all connections (--memory-budget)",
                    ),
                    TcpAnomaly::HoleCap => Anomaly::CapHit("TCP holes per direction (--max-holes)"),
                    TcpAnomaly::FlowCap => Anomaly::CapHit("TCP connections tracked (--max-flows)"),
                    TcpAnomaly::DataAfterFin => Anomaly::ReservedBits("TCP data after FIN"),
                };
                let sdir = if c.swapped { dir.flip() } else { dir };
                let ev = make_event(
                    &mut self.next_event,
                    ts,
                    frame_no,
                    &c.label,
                    Some(sdir),
                    EventKind::Anomaly,
                    vec![a],
                );
                emit(ev);
            }
            StreamEvent::Close {
                conn,
                ts,
                frame_no,
                reason,
            } => {
                let Some(mut c) = self.conns.remove(&conn) else {
                    return;
                };
                if c.kind != Kind::Mqtt {
                    return;
                }
                let mut ctx = Ctx {
                    cfg: &self.cfg,
                    catalogue: &self.catalogue,
                    next_event: &mut self.next_event,
                    streaks: &mut self.streaks,
                    spare: &mut self.spare,
                };
                {
                    let Conn {
                        framers,
                        origins,
                        state,
                        label,
                        swapped,
                        info,
                        ..
                    } = &mut c;
                    for d in [Dir::ToServer, Dir::ToClient] {
                        let origins = &origins[d.index()];
                        let (framer, other) = framer_and_other(framers, d);
                        framer.set_version(state.version);
                        framer.finish(&mut |fe| {
                            let (ts, frame) = origins.date(event_end(&fe), (ts, frame_no));
                            on_frame(
                                &mut ctx, fe, ts, frame, d, other, state, label, swapped, info,
                                emit,
                            );
                        });
                    }
                }
                let mut anomalies = Vec::new();
                let close = c.state.on_close(reason, ts, &mut anomalies);
                let ev = make_event(
                    &mut self.next_event,
                    ts,
                    frame_no,
                    &c.label,
                    None,
                    EventKind::ConnClose(Box::new(close)),
                    anomalies,
                );
                emit(ev);
            }
        }
    }
}

impl Conn {
    /// Bytes of memory held by this connection's buffers and in-flight table (estimate).
    fn mem(&self) -> usize {
        let held = if self.kind == Kind::Undecided {
            self.held_bytes
        } else {
            0
        };
        held + self.framers[0].held_capacity()
            + self.framers[1].held_capacity()
            + self.state.inflight_len() * INFLIGHT_COST
    }

    /// Feeds in-order bytes of one TCP direction to its framer and handles what comes out.
    fn feed(
        &mut self,
        ctx: &mut Ctx<'_>,
        dir: Dir,
        ts: Ts,
        frame: u64,
        bytes: &[u8],
        emit: &mut dyn FnMut(Event),
    ) {
        let Conn {
            framers,
            origins,
            state,
            label,
            swapped,
            info,
            ..
        } = self;
        let (framer, other) = framer_and_other(framers, dir);
        if framer.pass_over(bytes.len()) {
            // Inside a payload passed over: no packet ends in these bytes, so their chunk
            // dates none and needs no origin.
            return;
        }
        let origins = &mut origins[dir.index()];
        origins.push(framer.offset() + bytes.len() as u64, ts, frame);
        framer.set_version(state.version);
        framer.feed(bytes, &mut |fe| {
            let (ts, frame) = origins.date(event_end(&fe), (ts, frame));
            on_frame(
                ctx, fe, ts, frame, dir, other, state, label, swapped, info, emit,
            );
        });
        origins.trim(framer.held_from());
    }
}

/// Handles in-order data of connection `c`: content detection while undecided, then framing.
#[allow(clippy::too_many_arguments)]
fn on_data(
    c: &mut Conn,
    run: &mut Run<'_>,
    dir: Dir,
    ts: Ts,
    frame_no: u64,
    offset: u64,
    bytes: &[u8],
    emit: &mut dyn FnMut(Event),
) {
    if c.kind == Kind::Undecided {
        let (srv, cli) = (c.info.server, c.info.client);
        let on_port = run.ctx.cfg.ports.contains(&srv.port())
            || run.ctx.cfg.ports.contains(&cli.port())
            || run.learnt.contains(&srv)
            || run.learnt.contains(&cli);
        let det = looks_like_mqtt(bytes);
        // The first chunk starts on a packet boundary when it follows a captured
        // SYN, or when detection found packets starting at its first byte.
        c.clean_start.get_or_insert(
            (offset == 0 && c.info.oriented_by == OrientedBy::Syn)
                || det.is_mqtt()
                || det == Detection::ExactPacket,
        );
        c.tries += 1;
        if det == Detection::ExactPacket {
            c.exact += 1;
        }
        c.kind = match det {
            Detection::Tls { .. } => Kind::Tls,
            d if d.is_mqtt() || on_port || c.exact >= 2 => Kind::Mqtt,
            // Picked up mid-stream, a chunk may start inside a packet: try the next
            // chunks before giving up.
            _ if c.tries < DETECT_CHUNKS
                && c.held_bytes + bytes.len() <= MAX_HELD_BYTES
                && run.mem_total + bytes.len() <= run.ctx.cfg.memory_budget =>
            {
                c.held_bytes += bytes.len();
                c.held.push(Held::Data(dir, ts, frame_no, bytes.to_vec()));
                return;
            }
            _ => Kind::NotMqtt,
        };
        if c.kind == Kind::NotMqtt {
            c.held = Vec::new();
            return;
        }
        if let Detection::Connect { .. } = det {
            // The receiver of a CONNECT is an MQTT server: later connections to it
            // picked up mid-stream are MQTT too.
            let server = if dir == Dir::ToServer { srv } else { cli };
            if run.learnt.len() < MAX_LEARNT_SERVERS {
                run.learnt.insert(server);
            }
        }
        *run.mqtt_connections += 1;
        let (open_ts, open_frame) = c.held.first().map_or((ts, frame_no), Held::at);
        let ev = make_event(
            run.ctx.next_event,
            open_ts,
            open_frame,
            &c.label,
            None,
            EventKind::ConnOpen,
            Vec::new(),
        );
        emit(ev);
        if c.kind == Kind::Tls {
            let ev = make_event(
                run.ctx.next_event,
                ts,
                frame_no,
                &c.label,
                None,
                EventKind::Encrypted,
                Vec::new(),
            );
            emit(ev);
            c.held = Vec::new();
            return;
        }
        if c.clean_start != Some(true) {
            c.framers[0].resync();
            c.framers[1].resync();
        }
        for h in std::mem::take(&mut c.held) {
            match h {
                Held::Data(d, t, f, b) => c.feed(&mut run.ctx, d, t, f, &b, emit),
                Held::Gap(g) => on_gap(c, run.ctx.next_event, g, emit),
            }
        }
        c.held_bytes = 0;
    }
    if c.kind != Kind::Mqtt {
        return;
    }
    c.feed(&mut run.ctx, dir, ts, frame_no, bytes, emit);
}

/// The framer of direction `dir`, and the other direction's one to read.
fn framer_and_other(framers: &mut [Framer; 2], dir: Dir) -> (&mut Framer, &Framer) {
    let [f0, f1] = framers;
    match dir {
        Dir::ToServer => (f0, f1),
        Dir::ToClient => (f1, f0),
    }
}

/// Bytes lost in one direction of MQTT connection `c`: its framer and session learn of it, and a
/// gap event is emitted.
fn on_gap(c: &mut Conn, next_event: &mut u64, g: GapEvent, emit: &mut dyn FnMut(Event)) {
    c.framers[g.dir.index()].gap(g.len);
    let sdir = if c.swapped { g.dir.flip() } else { g.dir };
    c.state.on_gap(sdir, g.ts);
    let ev = make_event(
        next_event,
        g.ts,
        g.frame,
        &c.label,
        Some(sdir),
        EventKind::Gap {
            offset: g.offset,
            len: g.len,
            reason: g.reason,
        },
        Vec::new(),
    );
    emit(ev);
}

/// Sets the caps of connection `c` (holding `before` bytes, all connections `total`) before
/// `incoming` bytes arrive: the configured ones while the budget has room, else caps that let
/// it grow by at most the room left. True when under pressure.
fn pressure(
    c: &mut Conn,
    cfg: &SessionConfig,
    total: usize,
    before: usize,
    incoming: usize,
) -> bool {
    if c.kind != Kind::Undecided && c.kind != Kind::Mqtt {
        return false;
    }
    let budget = cfg.memory_budget;
    let others = total.saturating_sub(before);
    let pressure = others + before + incoming > budget;
    if !pressure && !c.lowered {
        // The configured caps are in force already.
        return false;
    }
    c.lowered = pressure;
    let room = budget.saturating_sub(others + before);
    for f in &mut c.framers {
        let cap = if pressure {
            (f.held_capacity() + room / 4).clamp(MIN_PRESSURE_CAP, cfg.max_packet)
        } else {
            cfg.max_packet
        };
        f.set_max_packet(cap);
    }
    let inflight = if pressure {
        c.state.inflight_len() + room / 4 / INFLIGHT_COST
    } else {
        cfg.max_inflight
    };
    c.state.set_inflight_cap(inflight.min(cfg.max_inflight));
    pressure
}

/// A framer for one direction: payloads that no output shows (no preview) are passed over.
fn new_framer(cfg: &SessionConfig) -> Framer {
    let mut f = Framer::new(cfg.max_packet);
    f.set_elide_payloads(cfg.convert.preview == 0);
    f
}

#[allow(clippy::too_many_arguments)]
fn on_frame(
    ctx: &mut Ctx<'_>,
    fe: FrameEvent<'_>,
    ts: Ts,
    frame: u64,
    tdir: Dir,
    other: &Framer,
    state: &mut ConnState,
    label: &mut Arc<ConnLabel>,
    swapped: &mut bool,
    info: &ConnInfo,
    emit: &mut dyn FnMut(Event),
) {
    if let FrameEvent::Packet(raw) = &fe {
        if raw.header.ptype == PacketType::PINGREQ {
            // The answer to the previous ping may be in bytes the other direction's framer
            // still holds while resynchronising (handed out after this one).
            state.answers_held = other.resyncing();
        }
        // Orientation by content: when the handshake did not tell (ARCHITECTURE: tcp/conn) and
        // the first packet can only come from the other side (a CONNECT, a SUBACK, ...).
        if !direction_allowed(raw.header.ptype, tdir, true)
            && !*swapped
            && info.oriented_by != OrientedBy::Syn
            && state.packets == [0, 0]
        {
            *swapped = true;
            let mut l = (**label).clone();
            std::mem::swap(&mut l.client, &mut l.server);
            *label = Arc::new(l);
        }
    }
    let dir = if *swapped { tdir.flip() } else { tdir };
    let mut anomalies = Vec::new();
    let kind = match fe {
        FrameEvent::Packet(raw) => {
            let ip = label.client.ip();
            // Only a CONNECT or a CONNACK (assigned id) sets the client id: other packets skip
            // comparing it.
            let sets_id = matches!(raw.header.ptype, PacketType::CONNECT | PacketType::CONNACK);
            let info = packet(ctx, &raw, ts, frame, dir, ip, state, &mut anomalies);
            if state.version != label.version || (sets_id && state.client_id != label.client_id) {
                let mut l = (**label).clone();
                l.client_id.clone_from(&state.client_id);
                l.version = state.version;
                *label = Arc::new(l);
            }
            emit(make_event(
                ctx.next_event,
                ts,
                frame,
                label,
                Some(dir),
                EventKind::Packet(info),
                anomalies,
            ));
            return;
        }
        FrameEvent::Oversize {
            offset,
            ptype,
            size,
            ..
        } => {
            anomalies.push(Anomaly::CapHit("MQTT packet size (--max-packet)"));
            EventKind::Oversize {
                offset,
                ptype,
                size,
            }
        }
        FrameEvent::Skipped {
            offset,
            len,
            reason,
        } => {
            // Packets may have been in the bytes skipped: the session treats them as lost.
            state.on_unframed(dir, ts);
            EventKind::Skipped {
                offset,
                len,
                reason: reason.to_string(),
            }
        }
        FrameEvent::Malformed { offset, error } => {
            let mut p = PacketInfo {
                offset,
                malformed: Some(error.to_string()),
                outcome: Outcome::Malformed,
                version: state.version,
                ..PacketInfo::default()
            };
            let crate::mqtt::error::FrameError::BadVarint { first, .. } = error;
            p.ptype = PacketType(first >> 4);
            p.flags = first & 0x0f;
            EventKind::Packet(Box::new(p))
        }
    };
    emit(make_event(
        ctx.next_event,
        ts,
        frame,
        label,
        Some(dir),
        kind,
        anomalies,
    ));
}

#[allow(clippy::too_many_arguments)]
fn packet(
    ctx: &mut Ctx<'_>,
    raw: &RawPacket<'_>,
    ts: Ts,
    frame: u64,
    dir: Dir,
    client_ip: IpAddr,
    state: &mut ConnState,
    anomalies: &mut Vec<Anomaly>,
) -> Box<PacketInfo> {
    if state.version.is_none() {
        if let Some((v, note)) = infer(raw) {
            state.version = Some(v);
            state.version_note = Some(note);
        }
    }
    let at = At {
        event: *ctx.next_event,
        ts,
        frame,
        dir,
    };
    let mut decoded = decode(raw, state.version.unwrap_or(Version::V3_1_1));
    if decoded.is_err() && state.version.is_none() {
        if let Ok(p) = decode(raw, Version::V5) {
            state.version = Some(Version::V5);
            state.version_note = Some("inferred: the packet decodes only as 5.0");
            decoded = Ok(p);
        }
    }
    let info = match decoded {
        Ok(pkt) => {
            let version = state.version.unwrap_or(Version::V3_1_1);
            let mut info = ctx.spare.take();
            let opts = &ctx.cfg.convert;
            let topics = &mut state.recent_topics[dir.index()];
            packet_info_into(&mut info, raw, &pkt, version, ctx.catalogue, opts, topics);
            // The version is unknown: the packet says nothing of it, except a CONNECT (its
            // level) and a CONNACK that decoded as 3.x, i.e. the 2-byte shape that carries a
            // 3.x return code. A server refusing a protocol level it does not support answers
            // so (3.1.1 §3.1.2.2: return code 0x01); read as 5.0 that code would be an
            // unknown success code.
            if state.version.is_none()
                && !matches!(raw.header.ptype, PacketType::CONNECT | PacketType::CONNACK)
            {
                info.version = None;
            }
            state.on_packet(at, &pkt, &mut info, ctx.catalogue, anomalies);
            if raw.header.ptype == PacketType::CONNACK && state.seen_from_start() {
                let failed = info.outcome >= Outcome::Failure;
                let id = state.client_id.as_deref();
                out_storm(ctx.streaks, id, client_ip, failed, ts, anomalies);
            }
            info
        }
        Err(e) => {
            let reserved = matches!(
                e.kind,
                DecodeErrorKind::ReservedBits { .. } | DecodeErrorKind::BadFlags { .. }
            )
            .then_some(e.field);
            state.on_malformed(at, reserved, anomalies);
            Box::new(malformed_info(raw, &e, state.version, &ctx.cfg.convert))
        }
    };
    info
}
