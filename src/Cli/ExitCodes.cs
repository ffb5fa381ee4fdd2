namespace MegaFlow.Cli;

/// <summary>The CLI's exit codes; scripts may rely on them (the README lists them).</summary>
public static class ExitCodes
{
    /// <summary>Done as asked.</summary>
    public const int Ok = 0;

    /// <summary>The node answered with a failure: not found, conflict (e.g. cancelling a finished task), rejected specs, an internal error.</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: unknown command, missing or malformed argument. Nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>No management API answered at the node address (refused, unresolvable, timed out).</summary>
    public const int Unreachable = 3;

    /// <summary>The node refused a change: no token (401), wrong token or read-only node (403).</summary>
    public const int Refused = 4;
}
