using Microsoft.Playwright;

namespace MegaFlow.Dashboard.Tests.Infrastructure;

/// <summary>
/// Chromium driven by Playwright. Playwright's own browser download does not work on these
/// machines, so it launches Debian's chromium (scripts/chromium.sh installs it); a machine without
/// it fails the tests rather than skipping them.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    public const string DefaultExecutable = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Chromium = browser;
    }

    public IBrowser Chromium { get; }

    public static async Task<Browser> LaunchAsync()
    {
        var executable = Environment.GetEnvironmentVariable("MEGAFLOW_CHROMIUM") ?? DefaultExecutable;
        if (!File.Exists(executable))
            throw new InvalidOperationException($"no chromium at {executable}: run scripts/chromium.sh (apt-get install chromium) or set MEGAFLOW_CHROMIUM");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        });
        return new Browser(playwright, browser);
    }

    /// <summary>A fresh page (own context: no token or storage shared between tests) that records console errors.</summary>
    public async Task<WatchedPage> OpenAsync(string baseUrl)
    {
        // A laptop screen.
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl, ViewportSize = new ViewportSize { Width = 1366, Height = 768 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        return new WatchedPage(context, page);
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}

/// <summary>A page and every console error and uncaught exception it produced.</summary>
public sealed class WatchedPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];

    public WatchedPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, m) => { if (m.Type == "error") lock (_errors) _errors.Add($"console: {m.Text} ({m.Location})"); };
        page.PageError += (_, e) => { lock (_errors) _errors.Add($"uncaught: {e}"); };
    }

    public IPage Page { get; }

    /// <summary>Errors so far, less those the test expects (a refused change is answered 401, which the browser logs).</summary>
    public IReadOnlyList<string> Errors(Func<string, bool>? expected = null)
    {
        lock (_errors) return _errors.Where(e => expected is null || !expected(e)).ToList();
    }

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}
