export { UsersModule } from './users.module';
export { UsersService } from './users.service';
export type { NewUser, UserPatch } from './users.service';
export { AdminBootstrapService } from './admin-bootstrap.service';
export type { AdminBootstrap } from './admin-bootstrap.service';
export { UserResponse, toUserResponse } from './dto/user.response';
export type { UserRecord, UserView } from './dto/user.response';
export { EmailField, NameField, PasswordField } from './dto/user-fields';
export { UserCreatedEvent, UserUpdatedEvent, UserDeletedEvent } from './users.events';
