variable "name" {
  description = "Name prefix for every resource, e.g. \"findata-dev\"; the key alias becomes alias/<name>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "deletion_window_in_days" {
  description = "Days a scheduled key deletion waits before it is final; the safety net against destroying encrypted data by mistake."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30 (AWS limits)."
  }
}

variable "tags" {
  description = "Tags added to every resource (the provider's default tags apply as well)."
  type        = map(string)
  default     = {}
}
