namespace MegaFlow.Contracts.Management;

/// <summary>What a node's management API and the CLI agree on without configuration.</summary>
public static class ManagementDefaults
{
    /// <summary>The API's port unless MEGAFLOW_MANAGEMENT_PORT says otherwise.</summary>
    public const int Port = 8558;

    /// <summary>The bearer token's file in a node's data directory.</summary>
    public const string TokenFileName = "management.token";
}
