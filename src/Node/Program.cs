using MegaFlow.Node;

// The hosts in this process (node, management API, model gateway, model API, bootstrap contact point)
// would each watch the working folder, recursively, for appsettings.json changes; with the default
// data folder (./data) below it, every journal write and artifact file then wakes a watcher thread,
// and every task's artifact folder takes an inotify watch until the kernel's limit is reached. The
// configuration is MEGAFLOW_* variables and HOCON, read once: nothing needs reloading.
if (Environment.GetEnvironmentVariable("DOTNET_hostBuilder__reloadConfigOnChange") is null)
    Environment.SetEnvironmentVariable("DOTNET_hostBuilder__reloadConfigOnChange", "false");

return await MegaFlowCommandLine.RunAsync(args);
