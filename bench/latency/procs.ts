/**
 * Every process the benchmark starts runs in its own process group (spawned detached, so setsid), and
 * is stopped by signalling the whole group: a `bash -c 'ffmpeg … | curl …'` pipeline or a hoodycall CLI
 * with its ffmpeg child dies as a unit. Groups are remembered until they are gone, and killAllSync()
 * SIGKILLs whatever is left (on exit, error, SIGINT, SIGTERM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** performance.now() at exit. */
  readonly at: number;
}

export interface GroupProc {
  readonly name: string;
  /** The leader's pid, which is also the process group id. */
  readonly pid: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly exited: Promise<ExitInfo>;
  exitInfo(): ExitInfo | null;
  /** The last few KiB the process (group) wrote to stderr. */
  stderrTail(): string;
}

const groups = new Set<number>();
const tempDirs = new Set<string>();

/** A directory killAllSync() removes too (the PulseAudio runtime dir); forget it once removed normally. */
export function registerTempDir(dir: string): void {
  tempDirs.add(dir);
}

export function forgetTempDir(dir: string): void {
  tempDirs.delete(dir);
}

/** Environment for children: no HTTP proxy may sit between a client and the loopback relay. */
export function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const entries = Object.entries({ ...process.env, ...extra }).filter(([key]) => !/^(https?|all|no)_proxy$/i.test(key));
  return Object.fromEntries(entries);
}

export interface SpawnOptions {
  readonly stdin: 'pipe' | 'ignore';
  readonly stdout: 'pipe' | 'ignore';
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function spawnGroup(name: string, file: string, args: readonly string[], options: SpawnOptions): GroupProc {
  const child: ChildProcess = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? childEnv(),
    stdio: [options.stdin, options.stdout, 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) {
    // spawn failed synchronously enough to have no pid (ENOENT); the 'error' event follows.
    child.on('error', () => undefined);
    throw new Error(`cannot start ${name} (${file})`);
  }
  groups.add(pid);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-6000);
  });
  let info: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      info = { code, signal, at: performance.now() };
      resolve(info);
    });
    child.once('error', (error) => {
      stderr += `\n[spawn error] ${error.message}`;
      info = { code: null, signal: null, at: performance.now() };
      resolve(info);
    });
  });
  child.stdin?.on('error', () => undefined);
  return {
    name,
    pid,
    stdin: child.stdin,
    stdout: child.stdout,
    exited,
    exitInfo: () => info,
    stderrTail: () => stderr.trim(),
  };
}

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nobody left in the group
  }
}

function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM to the group, SIGKILL after `graceMs`; resolves once no process of the group is left (max ~3 s more). */
export async function stopGroup(proc: GroupProc, graceMs = 1_000): Promise<void> {
  const pgid = proc.pid;
  if (groupAlive(pgid)) {
    signalGroup(pgid, 'SIGTERM');
    const deadline = performance.now() + graceMs;
    while (groupAlive(pgid) && performance.now() < deadline) await sleep(25);
    if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
    const hard = performance.now() + 3_000;
    while (groupAlive(pgid) && performance.now() < hard) await sleep(25);
  }
  if (!groupAlive(pgid)) groups.delete(pgid);
}

/** SIGKILLs every group still known and removes the registered temp dirs; synchronous, so it works in an 'exit' handler. */
export function killAllSync(): void {
  for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
  groups.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let clockTicks = 100;
export function setClockTicks(ticks: number): void {
  clockTicks = ticks;
}

interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly pgrp: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly ticks: number;
}

async function readProcs(): Promise<ProcStat[]> {
  const entries = await readdir('/proc');
  const stats = await Promise.all(
    entries.map(async (entry): Promise<ProcStat | null> => {
      if (!/^\d+$/.test(entry)) return null;
      let stat: string;
      try {
        stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      } catch {
        return null;
      }
      // "pid (comm) state ppid pgrp …": after "(comm)", state is field 3 at [0], pgrp field 5 at [2],
      // utime 14 at [11], stime [12], cutime [13], cstime [14].
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      return {
        pid: Number(entry),
        comm: stat.slice(stat.indexOf('(') + 1, close),
        pgrp: Number(fields[2]),
        ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]),
      };
    }),
  );
  return stats.filter((stat): stat is ProcStat => stat !== null);
}

/**
 * CPU seconds (user + system, plus those of reaped children) of the live processes in group `pgid`,
 * by command name, from /proc/PID/stat.
 */
export async function groupCpu(pgid: number): Promise<Map<string, number>> {
  const byName = new Map<string, number>();
  for (const stat of await readProcs()) {
    if (stat.pgrp === pgid) byName.set(stat.comm, (byName.get(stat.comm) ?? 0) + stat.ticks / clockTicks);
  }
  return byName;
}

/** Command names of the processes still alive in group `pgid`. */
export async function groupMembers(pgid: number): Promise<string[]> {
  return (await readProcs()).filter((stat) => stat.pgrp === pgid).map((stat) => stat.comm);
}

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat. */
export async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}
