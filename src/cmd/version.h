#pragma once
namespace wva::cmd {
inline constexpr const char* kVersion = "0.1.0";
}
