using System.Net;
using MegaFlow.Hosting;

namespace MegaFlow.Node.Bootstrap;

/// <summary>
/// Cluster Bootstrap (Akka.Management) as an alternative to a static seed list: nodes find each other's
/// contact points through Akka.Discovery (here: config discovery, a fixed list of host:port), probe them
/// over HTTP, and the lowest-addressed contact point forms the cluster when none has one yet.
/// </summary>
/// <param name="ContactPoints">Every node's contact point, "host:port" (MEGAFLOW_CONTACT_POINTS).</param>
/// <param name="BindAddress">Address the contact-point HTTP server binds (MEGAFLOW_BOOTSTRAP_ADDRESS, default MEGAFLOW_HOSTNAME).</param>
/// <param name="PublicHost">This node's contact-point host as the others list it (MEGAFLOW_PUBLIC_HOSTNAME, else MEGAFLOW_HOSTNAME).</param>
/// <param name="Port">The contact-point HTTP port (MEGAFLOW_BOOTSTRAP_PORT), apart from the management API's.</param>
/// <param name="RequiredContactPoints">Contact points that must answer before a new cluster is formed (MEGAFLOW_BOOTSTRAP_REQUIRED).</param>
/// <param name="ServiceName">The service name looked up in discovery (MEGAFLOW_BOOTSTRAP_SERVICE).</param>
public sealed record BootstrapSettings(
    IReadOnlyList<string> ContactPoints, string BindAddress, string PublicHost, int Port, int RequiredContactPoints, string ServiceName)
{
    public const int DefaultPort = 8600;

    /// <summary>The URI the other nodes probe this node at: it must equal this node's entry in the contact points.</summary>
    public Uri SelfContactPoint => new($"http://{PublicHost}:{Port}/");

    /// <summary>
    /// MEGAFLOW_BOOTSTRAP: unset or <c>off</c> (static seeds, MEGAFLOW_SEEDS) or <c>config</c>. Returns null when off.
    /// Bad or contradicting values throw naming the variable.
    /// </summary>
    public static BootstrapSettings? FromEnvironment(NodeSettings node, Func<string, string?> get)
    {
        string? V(string name) => string.IsNullOrWhiteSpace(get(name)) ? null : get(name)!.Trim();
        switch (V("MEGAFLOW_BOOTSTRAP")?.ToLowerInvariant())
        {
            case null or "off":
                return null;
            case "config":
                break;
            case "kubernetes":
                throw new ArgumentException("MEGAFLOW_BOOTSTRAP: 'kubernetes' (Akka.Discovery.KubernetesApi) is not built into this binary; "
                    + "use 'config' with MEGAFLOW_CONTACT_POINTS, or see docs/deploy/vms.md (Cluster Bootstrap) for the Kubernetes option");
            case var other:
                throw new ArgumentException($"MEGAFLOW_BOOTSTRAP: unknown method '{other}' (expected off or config)");
        }
        if (node.Seeds.Count > 0)
            throw new ArgumentException("MEGAFLOW_BOOTSTRAP: Cluster Bootstrap replaces MEGAFLOW_SEEDS; set one of them, not both");
        var points = (V("MEGAFLOW_CONTACT_POINTS") ?? throw new ArgumentException("MEGAFLOW_CONTACT_POINTS: required with MEGAFLOW_BOOTSTRAP=config (comma-separated host:port)"))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(ValidateContactPoint).ToList();
        var port = V("MEGAFLOW_BOOTSTRAP_PORT") is { } p
            ? int.TryParse(p, out var n) && n is > 0 and <= 65535 ? n : throw new ArgumentException($"MEGAFLOW_BOOTSTRAP_PORT: '{p}' is not a port number (1-65535)")
            : DefaultPort;
        var bind = V("MEGAFLOW_BOOTSTRAP_ADDRESS") ?? node.Hostname;
        if (bind != "*" && !IPAddress.TryParse(bind, out _))
            throw new ArgumentException($"MEGAFLOW_BOOTSTRAP_ADDRESS: '{bind}' is not an IP address (use 0.0.0.0 or * for every interface)");
        var required = V("MEGAFLOW_BOOTSTRAP_REQUIRED") is { } r
            ? int.TryParse(r, out var k) && k >= 1 ? k : throw new ArgumentException($"MEGAFLOW_BOOTSTRAP_REQUIRED: '{r}' is not a positive number")
            : points.Count;
        var service = V("MEGAFLOW_BOOTSTRAP_SERVICE") ?? "megaflow";
        var self = new BootstrapSettings(points, bind, node.PublicHostname ?? node.Hostname, port, required, service);
        if (!points.Contains($"{self.PublicHost}:{port}", StringComparer.OrdinalIgnoreCase))
            throw new ArgumentException($"MEGAFLOW_CONTACT_POINTS: this node's own contact point {self.PublicHost}:{port} "
                + "(MEGAFLOW_PUBLIC_HOSTNAME or MEGAFLOW_HOSTNAME, and MEGAFLOW_BOOTSTRAP_PORT) is not in the list; every node must be listed as the others reach it");
        return self;
    }

    private static string ValidateContactPoint(string point)
    {
        var colon = point.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(point[(colon + 1)..], out var port) || port is <= 0 or > 65535)
            throw new ArgumentException($"MEGAFLOW_CONTACT_POINTS: '{point}' is not host:port");
        return point;
    }

    /// <summary>Akka.Discovery's config method listing the contact points, and Cluster Bootstrap's settings.</summary>
    public string Hocon()
    {
        var endpoints = string.Join(", ", ContactPoints.Select(c => $"\"{c}\""));
        return $$"""
            akka.discovery.method = config
            akka.discovery.config.services {
              "{{ServiceName}}" { endpoints = [{{endpoints}}] }
            }
            akka.management.http {
              hostname = "{{PublicHost}}"
              port = {{Port}}
            }
            akka.management.cluster.bootstrap.contact-point-discovery {
              service-name = "{{ServiceName}}"
              discovery-method = config
              required-contact-point-nr = {{RequiredContactPoints}}
            }
            # The list holds contact-point ports only, each node's may differ: probe every one listed.
            akka.management.cluster.bootstrap.contact-point.filter-on-fallback-port = false
            """;
    }
}
