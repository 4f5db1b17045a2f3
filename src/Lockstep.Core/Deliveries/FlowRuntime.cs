using Lockstep.Configuration;
using Lockstep.Mapping;

namespace Lockstep.Deliveries;

/// <summary>A flow ready to run: its definition, its scripts, and the lane of its system.</summary>
internal sealed record FlowRuntime(FlowDefinition Definition, FlowScripts Scripts, SystemLane Lane);
