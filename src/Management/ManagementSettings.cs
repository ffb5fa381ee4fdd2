using MegaFlow.Contracts.Management;
using System.Net;

namespace MegaFlow.Management;

/// <summary>
/// Where the management API listens and who may change things through it. Read from
/// MEGAFLOW_MANAGEMENT_* variables; loopback by default so a node never exposes it by accident.
/// </summary>
public sealed record ManagementSettings
{
    /// <summary>Akka.Management's conventional port, so operators find it where they expect.</summary>
    public const int DefaultPort = ManagementDefaults.Port;

    public bool Enabled { get; init; } = true;

    public string Address { get; init; } = "127.0.0.1";

    public int Port { get; init; } = DefaultPort;

    /// <summary>
    /// Bearer token for mutating routes. When none is configured the node reuses the one in
    /// <see cref="TokenFile"/> from an earlier start, or generates one and writes it there (readable by
    /// its own user only), so mutations are never open and a restart does not change the token.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>Where a generated token is written (and where the CLI on the same machine finds it).</summary>
    public string? TokenFile { get; init; }

    /// <summary>Refuse every mutating route, whatever the token.</summary>
    public bool ReadOnly { get; init; }

    public static ManagementSettings FromEnvironment(string dataDir, Func<string, string?>? get = null)
    {
        get ??= Environment.GetEnvironmentVariable;
        string? V(string name) => string.IsNullOrWhiteSpace(get(name)) ? null : get(name)!.Trim();
        var s = new ManagementSettings { TokenFile = Path.Combine(dataDir, TokenFileName) };
        if (V("MEGAFLOW_MANAGEMENT") is { } enabled)
            s = s with { Enabled = ParseBool("MEGAFLOW_MANAGEMENT", enabled, "on", "off") };
        if (V("MEGAFLOW_MANAGEMENT_ADDRESS") is { } address)
            s = s with
            {
                Address = address == "*" || IPAddress.TryParse(address, out _)
                    ? address
                    : throw new ArgumentException($"MEGAFLOW_MANAGEMENT_ADDRESS: '{address}' is not an IP address (use 0.0.0.0 or * for every interface)"),
            };
        if (V("MEGAFLOW_MANAGEMENT_PORT") is { } port)
            s = s with
            {
                Port = int.TryParse(port, out var p) && p is >= 0 and <= 65535
                    ? p
                    : throw new ArgumentException($"MEGAFLOW_MANAGEMENT_PORT: '{port}' is not a port number (0-65535)"),
            };
        if (V("MEGAFLOW_MANAGEMENT_TOKEN") is { } token) s = s with { Token = token };
        if (V("MEGAFLOW_MANAGEMENT_READONLY") is { } ro)
            s = s with { ReadOnly = ParseBool("MEGAFLOW_MANAGEMENT_READONLY", ro, "true", "false") };
        return s;
    }

    public const string TokenFileName = ManagementDefaults.TokenFileName;

    private static bool ParseBool(string name, string value, string yes, string no) => value.ToLowerInvariant() switch
    {
        "1" or "true" or "yes" or "on" => true,
        "0" or "false" or "no" or "off" => false,
        _ => throw new ArgumentException($"{name}: '{value}' is neither {yes} nor {no}"),
    };
}
