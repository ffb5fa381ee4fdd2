using MegaFlow.Node;

return await MegaFlowCommandLine.RunAsync(args);
