/**
 * The exec shim: the file a runtime executes as `<type>` when the agent layout is installed.
 * A perl script (Debian's perl-base is Essential, so perl is on every Debian-family host) that
 * uses builtins only: `use Socket` alone would cost ~5 ms per call. It forwards the call to
 * the agent (protocol.ts) and prints the answer; with no agent listening it executes the
 * plugin's own Node executable in `fallbackDir`. This module only produces the text.
 *
 * The marker line lets a crosscni bridge recognise a sibling crosscni IPAM executable
 * (plugins/attachment/ipam-client.ts reads the first 256 bytes) and run it in-process.
 */
import { BUILD_MARKER } from '../../plugins/attachment/ipam-client.ts';
import { MAX_INPUT_BYTES_PLUS_ONE } from '../../plugins/sdk/limits.ts';
import { STDIN_READ_BYTES } from './protocol.ts';
import { DEFAULT_SOCKET_PATH } from './server.ts';

/** The environment variable naming another agent socket (tests, a second agent). */
export const SOCKET_ENV = 'CROSSCNI_AGENT_SOCKET';

function perlString(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** The shim whose fallback runs `<fallbackDir>/<its own file name>`. */
export function shimScript(fallbackDir: string): string {
  return `#!/usr/bin/perl
# // ${BUILD_MARKER} (exec shim; see docs/agent.md)
# Forwards this plugin call to the resident crosscni agent and prints its answer. When no agent
# listens, runs the plugin's own Node executable instead. Once the call has reached the agent it
# never does that (the agent may have acted): a lost answer becomes a CNI error, code 11.
# Written by \`crosscni install --agent\`; builtins only, so it costs ~2 ms of CPU.
my $fallback_dir = ${perlString(fallbackDir)};
my $socket_path = $ENV{${SOCKET_ENV}} || '${DEFAULT_SOCKET_PATH}';
my $max_stdin = ${MAX_INPUT_BYTES_PLUS_ONE};
my ($type) = $0 =~ m{([^/]+)\\z};
my $fallback = "$fallback_dir/$type";
my $in;
$SIG{PIPE} = 'IGNORE';

sub json_string {
  my $s = shift;
  $s =~ s/(["\\\\])/\\\\$1/g;
  $s =~ s/([\\x00-\\x1f])/sprintf('\\\\u%04x', ord $1)/ge;
  return qq("$s");
}

sub fail {
  my ($code, $msg, $details) = @_;
  my $version = (defined $in && substr($in, 0, 4096) =~ /"cniVersion"\\s*:\\s*"(0\\.[1-4]\\.[01]|1\\.[01]\\.0)"/) ? $1 : '1.1.0';
  print STDOUT '{"cniVersion":', json_string($version), ',"code":', $code, ',"msg":', json_string($msg),
    ',"details":', json_string($details), "}\\n";
  exit 1;
}

# Run the Node plugin with this process's environment; stdin as it came, or the bytes already read.
sub run_plugin {
  if (defined $in) {
    pipe(my $r, my $w) or fail(5, "cannot pass stdin on to $fallback", "$!");
    my $pid = fork();
    fail(5, "cannot pass stdin on to $fallback", "$!") unless defined $pid;
    if ($pid == 0) {
      close $r;
      my $off = 0;
      while ($off < length $in) { my $n = syswrite($w, $in, length($in) - $off, $off); last unless $n; $off += $n; }
      exit 0;
    }
    close $w;
    open(STDIN, '<&', $r) or fail(5, "cannot pass stdin on to $fallback", "$!");
    close $r;
  }
  exec { $fallback } $fallback;
  fail(5, "cannot run $fallback (no crosscni agent listens on $socket_path)", "$!");
}

socket(my $s, 1, 1, 0) or run_plugin();
run_plugin() if length($socket_path) > 107;
connect($s, pack('S Z108', 1, $socket_path)) or run_plugin();

$in = '';
while (length($in) < $max_stdin) {
  my $n = sysread(STDIN, $in, ${STDIN_READ_BYTES}, length($in));
  last unless $n;
}
my $env = join('', map { "$_=$ENV{$_}\\0" } keys %ENV);
my $request = pack('a4 N/a* N/a* N/a*', 'CNA1', $type, $env, $in);
my $off = 0;
while ($off < length $request) {
  my $n = syswrite($s, $request, length($request) - $off, $off);
  last unless $n;
  $off += $n;
}
# The agent acts only on a whole request: one that did not get through was not acted on.
if ($off < length $request) { close $s; run_plugin(); }
shutdown($s, 1);

my $answer = '';
while (1) { my $n = sysread($s, $answer, 65536, length $answer); last unless $n; }
# unpack dies on a truncated answer; eval turns that into the error below.
my ($magic, $kind, $code, $out, $err) = eval { unpack('a4 N N N/a* N/a*', $answer) };
if (!defined $err || $magic ne 'CNA1' || length($answer) != 20 + length($out) + length($err)) {
  fail(11, "crosscni agent stopped before answering $type " . ($ENV{CNI_COMMAND} // ''),
    "the call reached the agent at $socket_path, which may have done part of it before it stopped; " .
    'retry the call (after a failed ADD the runtime DELs it); check the agent with: systemctl status crosscni-agent');
}
if ($kind == 1) { close $s; run_plugin(); }
$off = 0;
while ($off < length $out) { my $n = syswrite(STDOUT, $out, length($out) - $off, $off); last unless $n; $off += $n; }
print STDERR $err;
exit $code;
`;
}
