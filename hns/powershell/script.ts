/**
 * The one fixed PowerShell script the PowerShell transport runs, for every operation. It calls
 * the same computenetwork.dll exports as the FFI transport, through P/Invoke (Add-Type), and reads
 * every value it needs (operation, kind, IDs, documents) from the JSON request in the
 * CROSSCNI_HCN_REQUEST environment variable: no value is ever spliced into script text. It
 * answers with one line of JSON on stdout: {"ok":true,"result":...} or {"ok":false,"operation",
 * "hresult","record"} for an HCN failure, {"ok":false,"error"} for anything else.
 *
 * Why not the HostNetworkingService module: the inbox module only has Get-/Remove- cmdlets (no
 * New-HnsNetwork/New-HnsEndpoint/namespace attach), and the gallery HNS module (HNS.V2.psm1) is
 * not installed by default and is itself a P/Invoke wrapper over these exports.
 *
 * The text is shaped for `powershell.exe -Command -`, which runs stdin statement by statement as
 * if typed (PowerShell issue #3223): the whole script is one `& { ... }` block ended by two
 * newlines, opening braces stay on their statement's line (issue #2068), and the text is ASCII
 * so the console code page cannot alter it. The answer is ASCII too (non-ASCII as \uXXXX).
 */
import { HCN_KIND_NAME } from '../transport.ts';

/** The environment variable that carries the request; its name is the only contract with the script. */
export const REQUEST_VARIABLE = 'CROSSCNI_HCN_REQUEST';

const LPWSTR = '[MarshalAs(UnmanagedType.LPWStr)]';
const REFGUID = '[MarshalAs(UnmanagedType.LPStruct)] Guid';

/** C# P/Invoke declarations; `out string` LPWStr values are freed by .NET with CoTaskMemFree. */
function pinvokeDeclarations(): string {
  const lines: string[] = [];
  const decl = (signature: string) =>
    lines.push(`    [DllImport("computenetwork.dll")] public static extern int ${signature};`);
  for (const k of Object.values(HCN_KIND_NAME)) {
    decl(`HcnEnumerate${k}s(${LPWSTR} string query, ${LPWSTR} out string list, ${LPWSTR} out string record)`);
    if (k === 'Endpoint') {
      decl(
        `HcnCreateEndpoint(IntPtr network, ${REFGUID} id, ${LPWSTR} string settings, out IntPtr handle, ${LPWSTR} out string record)`,
      );
    } else {
      decl(
        `HcnCreate${k}(${REFGUID} id, ${LPWSTR} string settings, out IntPtr handle, ${LPWSTR} out string record)`,
      );
    }
    decl(`HcnOpen${k}(${REFGUID} id, out IntPtr handle, ${LPWSTR} out string record)`);
    decl(`HcnModify${k}(IntPtr handle, ${LPWSTR} string settings, ${LPWSTR} out string record)`);
    decl(
      `HcnQuery${k}Properties(IntPtr handle, ${LPWSTR} string query, ${LPWSTR} out string properties, ${LPWSTR} out string record)`,
    );
    decl(`HcnDelete${k}(${REFGUID} id, ${LPWSTR} out string record)`);
    decl(`HcnClose${k}(IntPtr handle)`);
  }
  return lines.join('\n');
}

/*
 * Not-found HRESULTs (signed) that `list` skips, as the FFI transport does: an object deleted
 * between enumerate and open is simply no longer there. ERROR_NOT_FOUND 0x80070490,
 * HCN_E_NETWORK_NOT_FOUND 0x803B0001, HCN_E_ENDPOINT_NOT_FOUND 0x803B0002.
 */
const NOT_FOUND = [0x80070490, 0x803b0001, 0x803b0002].map((h) => h | 0).join(', ');

export const HCN_SCRIPT = `& {
  $ErrorActionPreference = 'Stop'
  $Native = $null
  function Emit($value) {
    $json = ConvertTo-Json -InputObject $value -Depth 10 -Compress
    $ascii = [regex]::Replace($json, '[^\\x00-\\x7F]', { param($m) '\\u{0:x4}' -f [int][char]$m.Value })
    [Console]::Out.WriteLine($ascii)
  }
  function Fail([string] $operation, [int] $hr, $record) {
    $failure = New-Object System.Exception $operation
    $failure.Data['hcn'] = $true
    $failure.Data['hresult'] = $hr
    $failure.Data['record'] = [string]$record
    throw $failure
  }
  function Close([string] $kind, $handle) {
    if ($null -ne $handle -and $handle -ne [IntPtr]::Zero) {
      [void]$Native.GetMethod('HcnClose' + $kind).Invoke($null, @($handle))
    }
  }
  function Open([string] $kind, [string] $id, [bool] $missingOk) {
    $a = New-Object object[] 3
    $a[0] = [Guid]$id
    $hr = [int]$Native.GetMethod('HcnOpen' + $kind).Invoke($null, $a)
    if ($hr -ge 0 -and [string]::IsNullOrEmpty($a[2])) { return $a[1] }
    Close $kind $a[1]
    if ($missingOk -and @(${NOT_FOUND}) -contains $hr) { return $null }
    Fail ('HcnOpen' + $kind) $hr $a[2]
  }
  function QueryAndClose([string] $kind, $handle, [string] $query) {
    try {
      $a = New-Object object[] 4
      $a[0] = $handle
      $a[1] = $query
      $hr = [int]$Native.GetMethod('HcnQuery' + $kind + 'Properties').Invoke($null, $a)
      if ($hr -lt 0 -or -not [string]::IsNullOrEmpty($a[3])) { Fail ('HcnQuery' + $kind + 'Properties') $hr $a[3] }
      return [string]$a[2]
    } finally {
      Close $kind $handle
    }
  }
  $out = $null
  try {
    $req = $env:${REQUEST_VARIABLE} | ConvertFrom-Json
    $Native = Add-Type -PassThru -Namespace CrossCni.Hcn -Name Native -MemberDefinition '
${pinvokeDeclarations()}
' | Select-Object -First 1
    $K = @{ network = 'Network'; endpoint = 'Endpoint'; namespace = 'Namespace' }[[string]$req.kind]
    $query = [string]$req.query
    $result = ''
    switch ([string]$req.op) {
      'list' {
        $a = New-Object object[] 3
        $a[0] = $query
        $hr = [int]$Native.GetMethod('HcnEnumerate' + $K + 's').Invoke($null, $a)
        if ($hr -lt 0 -or -not [string]::IsNullOrEmpty($a[2])) { Fail ('HcnEnumerate' + $K + 's') $hr $a[2] }
        $docs = New-Object 'System.Collections.Generic.List[string]'
        $pattern = '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}'
        foreach ($match in [regex]::Matches([string]$a[1], $pattern)) {
          $h = Open $K $match.Value $true
          if ($null -ne $h) { $docs.Add((QueryAndClose $K $h $query)) }
        }
        $result = $docs.ToArray()
      }
      'get' {
        $h = Open $K ([string]$req.id) $false
        $result = QueryAndClose $K $h $query
      }
      'create' {
        $id = [Guid]::Empty
        if (-not [string]::IsNullOrEmpty([string]$req.id)) { $id = [Guid][string]$req.id }
        $network = [IntPtr]::Zero
        try {
          if ($K -eq 'Endpoint') {
            $network = Open 'Network' ([string]$req.networkId) $false
            $a = New-Object object[] 5
            $a[0] = $network
            $a[1] = $id
            $a[2] = [string]$req.settings
            $n = 3
          } else {
            $a = New-Object object[] 4
            $a[0] = $id
            $a[1] = [string]$req.settings
            $n = 2
          }
          $hr = [int]$Native.GetMethod('HcnCreate' + $K).Invoke($null, $a)
          if ($hr -lt 0 -or -not [string]::IsNullOrEmpty($a[$n + 1])) {
            Close $K $a[$n]
            Fail ('HcnCreate' + $K) $hr $a[$n + 1]
          }
          $result = QueryAndClose $K $a[$n] $query
        } finally {
          Close 'Network' $network
        }
      }
      'modify' {
        $h = Open $K ([string]$req.id) $false
        try {
          $a = New-Object object[] 3
          $a[0] = $h
          $a[1] = [string]$req.settings
          $hr = [int]$Native.GetMethod('HcnModify' + $K).Invoke($null, $a)
          if ($hr -lt 0 -or -not [string]::IsNullOrEmpty($a[2])) { Fail ('HcnModify' + $K) $hr $a[2] }
        } finally {
          Close $K $h
        }
      }
      'delete' {
        $a = New-Object object[] 2
        $a[0] = [Guid][string]$req.id
        $hr = [int]$Native.GetMethod('HcnDelete' + $K).Invoke($null, $a)
        if ($hr -lt 0 -or -not [string]::IsNullOrEmpty($a[1])) { Fail ('HcnDelete' + $K) $hr $a[1] }
      }
      default { throw ('unknown operation ' + [string]$req.op) }
    }
    $out = [ordered]@{ ok = $true; result = $result }
  } catch {
    $e = $_.Exception
    while ($e.InnerException -and ($e -is [System.Management.Automation.MethodInvocationException] -or $e -is [System.Reflection.TargetInvocationException])) { $e = $e.InnerException }
    if ($e.Data['hcn']) {
      $out = [ordered]@{ ok = $false; operation = $e.Message; hresult = [int]$e.Data['hresult']; record = [string]$e.Data['record'] }
    } else {
      $out = [ordered]@{ ok = $false; error = [string]$e.Message }
    }
  }
  Emit $out
}

`;
